"""A person's private calendar feed: the milestones of their migrations and the items they are
responsible for. (Its link's lifetime is in tests/test_reminder_links.py.)"""

from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse
from icalendar import Calendar

from migrations_app import access
from migrations_app.models import ReminderPreference
from tests.factories import make_migration
from tests.reminders import DP_ITEM, PM_ITEMS, dated

pytestmark = pytest.mark.django_db


def test_the_calendar_feed_has_the_milestones_and_the_persons_due_items(quiet, practice_manager, client, guide_version):
    own = dated(quiet, PM_ITEMS[0], date(2025, 6, 10))
    dated(quiet, DP_ITEM, date(2025, 6, 11))  # the delivery partner's, not the manager's
    make_migration(template_version=guide_version)  # another practice's
    preference = ReminderPreference.objects.create(user=practice_manager)
    preference.new_calendar_token()

    response = client.get(reverse("migrations:calendar_feed", kwargs={"token": preference.calendar_token}))

    events = Calendar.from_ical(response.content).walk("VEVENT")
    summaries = {str(event["SUMMARY"]) for event in events}
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Go-live: Riverside Medical Centre (H85001)" in summaries
    assert f"Due: {own.title} (Riverside Medical Centre, H85001)" in summaries
    assert len(summaries) == 10  # nine milestones and the one item
    assert all(str(event["URL"]).startswith(settings.SITE_URL) for event in events)


def feed_summaries(client, user) -> set[str]:
    preference, _ = ReminderPreference.objects.get_or_create(user=user)
    preference.new_calendar_token()
    response = client.get(reverse("migrations:calendar_feed", kwargs={"token": preference.calendar_token}))
    return {str(event["SUMMARY"]) for event in Calendar.from_ical(response.content).walk("VEVENT")}


def test_an_owned_item_is_in_its_owners_calendar_and_not_in_the_roles(quiet, practice_manager, practice_staff, client):
    owned = dated(quiet, PM_ITEMS[0], date(2025, 6, 10))
    owned.assign_owner(practice_manager, practice_staff, memberships=access.owner_memberships(owned))
    unowned = dated(quiet, PM_ITEMS[1], date(2025, 6, 11))

    staff_feed, manager_feed = feed_summaries(client, practice_staff), feed_summaries(client, practice_manager)

    assert f"Due: {owned.title} (Riverside Medical Centre, H85001)" in staff_feed
    assert f"Due: {unowned.title} (Riverside Medical Centre, H85001)" not in staff_feed
    assert f"Due: {owned.title} (Riverside Medical Centre, H85001)" not in manager_feed
    assert f"Due: {unowned.title} (Riverside Medical Centre, H85001)" in manager_feed
