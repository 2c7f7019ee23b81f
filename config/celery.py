"""The Celery app. Settings live in config/settings.py under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("migration_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each installed app's tasks.py (migrations_app/tasks.py), and the reminders package's
# (migrations_app/reminders/tasks.py), which is not an installed app of its own.
app.autodiscover_tasks()
app.autodiscover_tasks(["migrations_app.reminders"])
