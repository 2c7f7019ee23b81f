"""Every link in a digest and in the calendar feed is built from SITE_URL, the one setting `make
run` sets from the host and port it serves on (tests/test_small_defects.py checks the Makefile):
served on another port, the links go there, not to 127.0.0.1:8000."""

import re
from datetime import date

import pytest
from django.urls import reverse
from icalendar import Calendar

from migrations_app.models import ReminderPreference
from tests.reminders import PM_ITEMS, dated, digests_to, london

pytestmark = pytest.mark.django_db

SERVED_AT = "http://127.0.0.1:8123"


@pytest.fixture(autouse=True)
def served_on_another_port(settings):
    settings.SITE_URL = SERVED_AT


def test_every_link_in_a_digest_goes_to_the_address_the_app_is_served_at(quiet, practice_manager, sweep_at):
    item = dated(quiet, PM_ITEMS[0], date(2025, 6, 2))

    sweep_at(london(date(2025, 6, 3)))

    [digest] = digests_to(practice_manager)
    html, _ = digest.alternatives[0]
    links = re.findall(r"https?://[^\s\"'<>]+", digest.body + html + digest.extra_headers["List-Unsubscribe"])
    assert f"{SERVED_AT}/migrations/{quiet.pk}/items/{item.pk}/" in links
    assert f"{SERVED_AT}/reminders/" in links
    assert links and all(link.startswith(f"{SERVED_AT}/") for link in links if "127.0.0.1" in link)
    assert "127.0.0.1:8000" not in digest.body + html + str(digest.extra_headers)


def test_every_link_in_the_calendar_feed_goes_to_the_address_the_app_is_served_at(quiet, practice_manager, client):
    dated(quiet, PM_ITEMS[0], date(2025, 6, 10))
    preference = ReminderPreference.objects.create(user=practice_manager)
    preference.new_calendar_token()

    response = client.get(reverse("migrations:calendar_feed", kwargs={"token": preference.calendar_token}))

    urls = [str(event["URL"]) for event in Calendar.from_ical(response.content).walk("VEVENT")]
    assert len(urls) == 10  # nine milestones and the one item
    assert all(url.startswith(f"{SERVED_AT}/migrations/{quiet.pk}/") for url in urls)
    assert b"127.0.0.1:8000" not in response.content
