"""A person's private iCalendar feed, for Outlook and other calendar apps that subscribe to a URL.

It holds the milestones of the migrations in progress the person works on (through any of their
memberships) and the open items that are theirs (due.open_items that they own, or with no owner and a role they hold:
access.Relations.own_items), each an all-day event on its date that links to the page in the
tracker. Titles name the practice and the item; nothing else (no notes, no reasons) goes in, so
the feed carries no patient data. Two queries, whatever the size.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from migrations_app import access
from migrations_app.models import Milestone, PracticeMigration, User
from migrations_app.reminders import due, emails


def calendar_for(user: User) -> bytes:
    relations = access.Relations.of(user)
    domain = emails.mail_domain()
    stamp = timezone.now()
    calendar = Calendar()
    calendar.add("prodid", "-//NHS GP migration tracker//Reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "GP practice migrations")
    # Outlook and others poll a subscribed feed; an hour keeps it close to the tracker.
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")

    migrations = (
        PracticeMigration.objects.in_progress().filter(relations.migrations()).select_related("practice").order_by("pk")
    )
    for migration in migrations.iterator(chunk_size=500):
        practice = migration.practice
        migration_url = emails.absolute_url(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}))
        for milestone in Milestone:
            on = getattr(migration, milestone.field_name)
            if on is None:
                continue
            calendar.add_component(
                _all_day(
                    uid=f"milestone-{migration.pk}-{milestone.value}@{domain}",
                    on=on,
                    stamp=stamp,
                    summary=f"{milestone.label}: {practice.name} ({practice.ods_code})",
                    url=migration_url,
                )
            )

    items = (
        due.open_items().filter(relations.own_items()).select_related("migration__practice").order_by("due_on", "pk")
    )
    for item in items.iterator(chunk_size=2000):
        practice = item.migration.practice
        calendar.add_component(
            _all_day(
                uid=f"item-{item.pk}@{domain}",
                on=item.due_on,
                stamp=stamp,
                summary=f"Due: {item.title} ({practice.name}, {practice.ods_code})",
                url=emails.absolute_url(emails.item_path(item)),
                description=f"{item.get_responsible_role_display()}. {item.get_kind_display()}.",
            )
        )
    return calendar.to_ical()


def _all_day(*, uid: str, on, stamp, summary: str, url: str, description: str = "") -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", on)
    event.add("dtend", on + timedelta(days=1))
    event.add("summary", summary)
    event.add("url", url)
    event.add("description", f"{description} {url}".strip())
    event.add("transp", "TRANSPARENT")  # a due date is not a meeting: it does not make the person busy
    return event
