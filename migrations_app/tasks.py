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
