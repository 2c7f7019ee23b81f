"""The reminder e-mails themselves: subject, plain text and HTML bodies, headers, links. Only what
an e-mail says and how; what is due is decided in due.py (and read into a digest in digests.py),
and when to send in claims.py and sending.py.

Links are absolute (SITE_URL). Bodies name the practice and the item and link to the item's page;
no note, reason or other free text of an item goes in, so an e-mail carries no patient data.
Every e-mail has a one-click unsubscribe link (RFC 8058: List-Unsubscribe and
List-Unsubscribe-Post headers) signed with the user's id; it works for REMINDER_UNSUBSCRIBE_LINK_DAYS.
"""

from datetime import date, timedelta
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from migrations_app.models import ChecklistItem, Delivery, User
from migrations_app.models.choices import CheckInSide
from migrations_app.reminders import digests

UNSUBSCRIBE_SALT = "migrations_app.reminders.unsubscribe"


def digest_message(delivery: Delivery, digest: digests.Digest) -> EmailMultiAlternatives:
    counts = [f"{digest.overdue_count} overdue"] if digest.overdue_count else []
    if digest.due_soon_count:
        counts.append(f"{digest.due_soon_count} due soon")
    if digest.escalated_count:
        counts.append(f"{digest.escalated_count} escalated")
    if digest.check_in_due_count:
        counts.append(f"{_count(digest.check_in_due_count, 'check-in')} due")
    if digest.check_in_missed_count:
        counts.append(f"{_count(digest.check_in_missed_count, 'check-in')} missed")
    if len(digest.sections) == 1:
        practice = digest.sections[0].migration.practice
        about = f"{practice.name} ({practice.ods_code})"
    else:
        about = f"{len(digest.sections)} practices"
    subject = f"Migration tasks for {about}: {', '.join(counts)}"
    # Links and dates are written here rather than with {% url %} and |date in the templates:
    # those were most of the time to render a digest, and there are thousands a morning.
    site_url = settings.SITE_URL.rstrip("/")
    for section in digest.sections:
        for entry in section.overdue:
            entry.when = f"Was due {_long_date(entry.item.due_on)} ({_days(entry.days)} ago)"
        for entry in section.due_soon:
            soon = "today" if entry.days == 0 else f"in {_days(entry.days)}"
            entry.when = f"Due {entry.item.due_on:%A} {_long_date(entry.item.due_on)} ({soon})"
        for entry in section.escalated:
            entry.when = f"Was due {_long_date(entry.item.due_on)} ({entry.working_days_overdue} working days ago)"
        for entry in (*section.overdue, *section.due_soon, *section.escalated):
            entry.url = site_url + item_path(entry.item)
        for check_in in section.check_ins:
            _describe_check_in(check_in, section.migration.pk, site_url)
    context = {"digest": digest, "on": delivery.on, "catch_up": _catch_up_note(digest)}
    return _message(delivery, digest.recipient, subject, "emails/digest", context)


def _describe_check_in(check_in: digests.CheckInReminder, migration_id: int, site_url: str) -> None:
    """What a digest says of a weekly check-in, and its link (the form on the check-ins page)."""
    side = CheckInSide(check_in.side).label.lower()
    check_in.url = site_url + reverse("migrations:migration_check_ins", kwargs={"pk": migration_id}) + "#give-heading"
    if check_in.missed:
        check_in.title = "Check-in missed"
        since = f"since {_long_date(check_in.last_on)}" if check_in.last_on else "for more than 9 days"
        check_in.when = f"No check-in {since}. Give yours as the {side}."
    else:
        check_in.title = "Check-in due"
        check_in.when = f"Your check-in as the {side} is due {check_in.day:%A} {_long_date(check_in.day)}."


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _catch_up_note(digest: digests.Digest) -> str:
    """Why a digest lists items reminded on days before its own: no digest went out on them. Each
    item still reads by its real due date ("Due Wednesday 18 June 2025 (in 6 days)")."""
    missed = [f"{day:%A} {_long_date(day)}" for day in digest.missed_days]
    if not missed:
        return ""
    if len(missed) == 1:
        return f"No digest went out on {missed[0]}, so this one also lists what it would have."
    return f"No digests went out from {missed[0]} to {missed[-1]}, so this one also lists what they would have."


def sign_off_message(delivery: Delivery, recipient: User, gate: ChecklistItem) -> EmailMultiAlternatives:
    practice = gate.migration.practice
    subject = f"Ready to sign off: {_shorten(gate.title)} ({practice.name}, {practice.ods_code})"
    context = {"gate": gate, "practice": practice, "item_url": absolute_url(item_path(gate))}
    return _message(delivery, recipient, subject, "emails/sign_off_request", context)


def _message(delivery: Delivery, recipient: User, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    unsubscribe_url = absolute_url(reverse("migrations:unsubscribe", kwargs={"token": unsubscribe_token(recipient)}))
    context |= {
        "recipient": recipient,
        "site_url": settings.SITE_URL.rstrip("/"),
        "preferences_url": absolute_url(reverse("migrations:preferences")),
        "unsubscribe_url": unsubscribe_url,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers={
            # RFC 8058 one-click unsubscribe: the mail client POSTs to the URL, no page to visit.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            # The same for every attempt at this delivery: a resend after a crash is recognisable.
            "Message-ID": f"<delivery-{delivery.pk}.{delivery.kind}.{delivery.key.replace(':', '.')}@{mail_domain()}>",
        },
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _shorten(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def item_path(item: ChecklistItem) -> str:
    return _item_path_format().format(pk=item.migration_id, item_pk=item.pk)


@cache
def _item_path_format() -> str:
    """The item page's path with {pk} and {item_pk} holes. A digest links every item it lists,
    and reverse() for each of them was a large share of the time to render one."""
    pattern = reverse("migrations:item_detail", kwargs={"pk": 1234567890, "item_pk": 9876543210})
    return pattern.replace("1234567890", "{pk}").replace("9876543210", "{item_pk}")


def unsubscribe_token(user: User) -> str:
    """The signed token of a user's one-click unsubscribe link. It carries the time it was signed:
    see user_for_unsubscribe_token."""
    return signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT)


def user_for_unsubscribe_token(token: str) -> User | None:
    """The user a token was signed for; None for a token we did not sign. Raises
    signing.SignatureExpired for one signed more than REMINDER_UNSUBSCRIBE_LINK_DAYS ago: the link
    is a credential in an e-mail that gets forwarded and archived, so it does not work for ever
    (every e-mail brings a fresh one)."""
    max_age = timedelta(days=settings.REMINDER_UNSUBSCRIBE_LINK_DAYS)
    try:
        user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
    except signing.SignatureExpired:  # a BadSignature too, but the caller tells the person apart
        raise
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=user_id).first()
