"""Celery tasks of the app outside the reminders package (whose tasks are in
migrations_app/reminders/tasks.py): the sign-in log's clean-up. Found by Celery's autodiscovery.
"""

from celery import shared_task
from django.conf import settings


# Idempotent (deleting what is old enough twice deletes nothing more), so acknowledged late.
@shared_task(name="migrations_app.tasks.forget_old_sign_in_failures", acks_late=True, reject_on_worker_lost=True)
def forget_old_sign_in_failures() -> int:
    """Daily: delete the failed sign-ins logged more than SIGN_IN_FAILURE_LOG_DAYS ago (the
    address limit reads only the last half hour; the security log keeps its own record)."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.reset_failure_logs(age_days=settings.SIGN_IN_FAILURE_LOG_DAYS)


COUNT_DAY_CHUNK = 1000
"""Migrations counted per transaction by count_day, so that a tick waits on at most one chunk."""


# Idempotent (a row counted for today is left alone), so acknowledged late.
@shared_task(name="migrations_app.tasks.count_day", acks_late=True, reject_on_worker_lost=True)
def count_day() -> int:
    """Every quarter of an hour: count the day figures (overdue, done ahead of plan, next due) of
    every migration not yet counted for today, so that the first dashboard after midnight reads
    them kept rather than counting them itself. Returns how many it counted."""
    from django.db import transaction
    from django.utils import timezone

    from migrations_app.models import ChecklistProgress

    today = timezone.localdate()
    counted = 0
    while ids := list(
        ChecklistProgress.objects.exclude(counts_on=today)
        .order_by("migration_id")
        .values_list("migration_id", flat=True)[:COUNT_DAY_CHUNK]
    ):
        with transaction.atomic():
            counted += ChecklistProgress.count_day(today, ids)
    return counted
