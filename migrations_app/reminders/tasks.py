"""The reminder Celery tasks: thin. Each takes ids, calls one function of the package, and returns.

Every task here is idempotent - the work is claimed under a unique constraint and a sent e-mail
is recorded on its claimed row - so each is acknowledged late: a worker killed mid-task leaves the
message to be delivered again, and running it twice sends nothing twice.

Each is registered under the name it had when the tasks lived in migrations_app/tasks.py: the beat
schedule and the messages already queued name tasks by it, so it stays whatever the module or the
function is called (see README.md).
"""

from celery import shared_task

from migrations_app.reminders import claims, sending, sign_offs

IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="migrations_app.tasks.sweep_reminders", **IDEMPOTENT)
def sweep_reminders() -> None:
    """Beat runs this every 5 minutes (UTC). Claims the day's digests once digest time has come in
    Europe/London, re-queues claimed e-mails that were lost, and queues a send for each."""
    claims.sweep()


@shared_task(name="migrations_app.tasks.send_deliveries", bind=True, max_retries=None, **IDEMPOTENT)
def send_reminder_emails(self, delivery_ids: list[int]) -> None:
    """Send a batch of claimed reminder e-mails, recording each outcome. After a temporary SMTP
    failure the rows still to send are retried with exponential backoff; sending.send_deliveries
    counts the attempts on each row and marks it failed after the last."""
    try:
        sending.send_deliveries(delivery_ids)
    except sending.DeliveryDeferred as deferred:
        raise self.retry(args=(deferred.delivery_ids,), countdown=deferred.retry_in) from deferred


@shared_task(name="migrations_app.tasks.request_sign_off", **IDEMPOTENT)
def request_sign_off(gate_id: int) -> None:
    """E-mail the people who may sign a gate that has become ready (at most once a day each)."""
    sign_offs.request_sign_off(gate_id)
