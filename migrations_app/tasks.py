"""Celery tasks: thin. Each takes ids, calls one function of reminders.py, and returns.

Every task here is idempotent - the work is claimed under a unique constraint and a sent e-mail
is recorded on its claimed row - so each is acknowledged late: a worker killed mid-task leaves the
message to be delivered again, and running it twice sends nothing twice.
"""

from celery import shared_task
from django.conf import settings

from migrations_app import reminders

IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**IDEMPOTENT)
def sweep_reminders() -> None:
    """Beat runs this every 5 minutes (UTC). Claims the day's digests once digest time has come in
    Europe/London, re-queues claimed e-mails that were lost, and queues a send for each."""
    reminders.sweep()


@shared_task(bind=True, max_retries=None, **IDEMPOTENT)
def send_deliveries(self, delivery_ids: list[int]) -> None:
    """Send a batch of claimed reminder e-mails, recording each outcome. After a temporary SMTP
    failure the rows still to send are retried with exponential backoff; reminders.send_deliveries
    counts the attempts on each row and marks it failed after the last."""
    try:
        reminders.send_deliveries(delivery_ids)
    except reminders.DeliveryDeferred as deferred:
        raise self.retry(args=(deferred.delivery_ids,), countdown=deferred.retry_in) from deferred


@shared_task(**IDEMPOTENT)
def request_sign_off(gate_id: int) -> None:
    """E-mail the people who may sign a gate that has become ready (at most once a day each)."""
    reminders.request_sign_off(gate_id)


@shared_task(**IDEMPOTENT)
def forget_old_sign_in_failures() -> int:
    """Daily: delete the failed sign-ins logged more than SIGN_IN_FAILURE_LOG_DAYS ago (the
    address limit reads only the last half hour; the security log keeps its own record)."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.reset_failure_logs(age_days=settings.SIGN_IN_FAILURE_LOG_DAYS)
