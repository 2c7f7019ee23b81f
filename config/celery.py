"""The Celery app. Settings live in config/settings.py under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("migration_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each installed app's tasks.py (migrations_app/tasks.py), and those of the reminders and invitations
# packages (migrations_app/reminders/tasks.py, migrations_app/invitations/tasks.py), which are not
# installed apps of their own.
app.autodiscover_tasks()
app.autodiscover_tasks(["migrations_app.reminders", "migrations_app.invitations"])
