"""/healthz tells a load balancer whether this process reaches the database and the broker."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_health_is_public_and_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_reports_an_unreachable_broker_with_503(client, settings, monkeypatch):
    from config.celery import app

    # Celery prefers the CELERY_BROKER_URL environment variable to its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get(reverse("healthz"))
    finally:
        app.conf.broker_url = settings.CELERY_BROKER_URL

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}
