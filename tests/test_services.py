"""The suite runs on real services: these fail, never skip, when one cannot be reached."""

import pytest
from django.db import connection

from config.celery import app

pytestmark = pytest.mark.django_db


def test_database_answers_a_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_broker_accepts_a_connection():
    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=2, timeout=5)
        assert broker.connected
