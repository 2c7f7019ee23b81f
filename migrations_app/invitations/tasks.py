"""The invitation e-mail's Celery task: thin, it takes the invitation's id and sends the e-mail.

Not acknowledged late: an invitation e-mail is not claimed before it is sent (it is one e-mail a
person asked for, and the page offers "Send again"), so a worker lost mid-task loses it rather
than risk sending it twice. Found by Celery's autodiscovery (config/celery.py).
"""

from celery import shared_task

from migrations_app.invitations import emails
from migrations_app.reminders.sending import is_temporary

RETRY_BACKOFF_SECONDS = 60
MAX_RETRIES = 5


@shared_task(name="migrations_app.invitations.send_invitation", bind=True, max_retries=MAX_RETRIES)
def send_invitation(self, invitation_id: int) -> None:
    """E-mail the invitation's current link, if it is still pending when the task runs (one sent
    again meanwhile goes with its newer link; a cancelled or accepted one, not at all). Temporary
    SMTP failures are tried again with exponential backoff."""
    try:
        emails.send_invitation(invitation_id)
    except Exception as error:
        if not is_temporary(error):
            raise
        raise self.retry(exc=error, countdown=RETRY_BACKOFF_SECONDS * 2**self.request.retries) from error
