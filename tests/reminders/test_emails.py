"""The e-mail itself (plain text and HTML, links, no notes, one-click unsubscribe headers), the
unsubscribe link, and the reminder settings page."""

from datetime import date
from email import message_from_bytes

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from migrations_app.models import ReminderPreference
from migrations_app.reminders import due
from tests.pages import error_summary
from tests.reminders import PM_ITEMS, dated, digests_to, london

pytestmark = pytest.mark.django_db


def test_the_digest_is_plain_text_and_html_links_to_the_item_and_carries_no_notes(quiet, practice_manager, sweep_at):
    item = dated(quiet, PM_ITEMS[0], date(2025, 6, 2))
    item.set_note(practice_manager, "Patient NHS number 943 476 5919 has a duplicate record")

    sweep_at(london(date(2025, 6, 3)))

    [digest] = digests_to(practice_manager)
    item_url = f"{settings.SITE_URL}/migrations/{quiet.pk}/items/{item.pk}/"
    html, mimetype = digest.alternatives[0]
    assert mimetype == "text/html"
    assert item_url in digest.body and f'href="{item_url}"' in html
    assert "Riverside Medical Centre (H85001)" in digest.body and "Riverside Medical Centre (H85001)" in html
    assert "943 476 5919" not in digest.body + html
    raw = message_from_bytes(digest.message().as_bytes())
    assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A long header is folded onto a second line, which mail clients join again.
    assert raw["List-Unsubscribe"].strip().startswith(f"<{settings.SITE_URL}/reminders/unsubscribe/")
    assert raw["Message-ID"].startswith("<delivery-")


def test_the_one_click_unsubscribe_link_stops_reminders(quiet, practice_manager, client, sweep_at):
    dated(quiet, PM_ITEMS[0], date(2025, 6, 2))
    sweep_at(london(date(2025, 6, 3)))
    [digest] = digests_to(practice_manager)
    link = digest.extra_headers["List-Unsubscribe"].strip("<>").removeprefix(settings.SITE_URL)

    unsubscribed = ReminderPreference.objects.filter(user=practice_manager, unsubscribed_at__isnull=False)
    # Followed the morning it came: the link expires (REMINDER_UNSUBSCRIBE_LINK_DAYS, test_reminder_links.py).
    with time_machine.travel(london(date(2025, 6, 3), hour=9), tick=False):
        confirm = client.get(link)
        subscribed_after_get = not unsubscribed.exists()
        one_click = client.post(link, {"List-Unsubscribe": "One-Click"})
    sweep_at(london(date(2025, 6, 4)))

    assert confirm.status_code == 200 and "Unsubscribe" in confirm.content.decode()
    assert subscribed_after_get
    assert one_click.status_code == 200
    assert unsubscribed.exists()
    assert len(digests_to(practice_manager)) == 1


# --- reminder settings ---------------------------------------------------------------------------------------


def test_saving_preferences_subscribes_again(practice_manager, client):
    due.preference_for(practice_manager).unsubscribe()
    client.force_login(practice_manager)

    page = client.get(reverse("migrations:preferences"))
    response = client.post(
        reverse("migrations:preferences"), {"frequency": "daily", "first_lead_days": "10", "second_lead_days": "2"}
    )

    assert "You unsubscribed" in page.content.decode()
    assert response.status_code == 302
    preference = ReminderPreference.objects.get(user=practice_manager)
    assert (preference.is_unsubscribed, preference.lead_days) == (False, (10, 2))


def test_preferences_refuse_lead_times_out_of_range(practice_manager, client):
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:preferences"), {"frequency": "daily", "first_lead_days": "99", "second_lead_days": "x"}
    )

    assert response.status_code == 400
    # Each box named, so that the error summary's two links say which is which.
    assert error_summary(response.content.decode()) == (
        "Enter a whole number of days from 0 to 28 for the first reminder "
        "Enter a whole number of days from 0 to 28 for the second reminder"
    )
    assert not ReminderPreference.objects.filter(user=practice_manager).exists()
