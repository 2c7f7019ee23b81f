"""Smaller defects found in the walk of issue 15: the address `make run` gives the links in
e-mails, the sign-out message, the order of the two reminder lead times, and the template admin
(the publish page's field names, the phase page's width is in tests/browser, where a phase's Save
goes). The QR code on the two-factor set-up page is tested in a real browser
(tests/browser/test_two_factor_qr_in_browser.py); the links themselves in
tests/reminders/test_links_follow_site_url.py."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib import auth
from django.urls import reverse

from migrations_app.models import ItemTemplate, ReminderPreference, TemplateVersion
from tests.pages import text
from tests.test_template_admin import change_url, form_data, item_prefix, version_url

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]


# --- links follow the address `make run` serves on -----------------------------------------------


def dry_run(*arguments: str) -> str:
    """What make would run, without running it."""
    if shutil.which("make") is None:
        pytest.fail("make is missing: the Makefile's targets cannot be checked.")
    completed = subprocess.run(["make", "-n", *arguments], cwd=ROOT, capture_output=True, text=True, check=True)
    return completed.stdout


def test_make_run_on_another_port_gives_the_web_server_worker_and_beat_that_address():
    commands = dry_run("run", "PORT=8123")

    exported = commands.index("export SITE_URL='http://127.0.0.1:8123'")
    assert exported < commands.index("celery -A config worker --beat")
    assert exported < commands.index("manage.py runserver 127.0.0.1:8123")
    assert "8000" not in commands


@pytest.mark.parametrize("target", ["serve", "worker", "beat"])
def test_each_process_started_on_its_own_gets_the_address_too(target):
    assert "SITE_URL='http://192.0.2.1:8123' " in dry_run(target, "HOST=192.0.2.1", "PORT=8123")


def test_an_address_given_to_make_wins_over_its_host_and_port():
    commands = dry_run("run", "PORT=8123", "SITE_URL=https://tracker.example.nhs.uk")

    assert "export SITE_URL='https://tracker.example.nhs.uk'" in commands
    assert "manage.py runserver 127.0.0.1:8123" in commands


# --- sign-out ------------------------------------------------------------------------------------


def test_signing_out_says_you_have_signed_out_on_the_sign_in_page(client, practice_manager):
    client.force_login(practice_manager)

    response = client.post(reverse("logout"), follow=True)

    assert response.redirect_chain == [(reverse("login"), 302)]
    assert not auth.get_user(client).is_authenticated
    html = response.content.decode()
    assert re.search(r'<div class="nhsuk-inset-text" role="status">.*?You have signed out\.', html, re.DOTALL)
    # Said once: the next page has no message.
    assert "You have signed out" not in client.get(reverse("login")).content.decode()


# --- reminder lead times -------------------------------------------------------------------------

PREFERENCES = {"frequency": "weekly", "first_lead_days": "7", "second_lead_days": "1"}


@pytest.mark.parametrize(("first", "second"), [("3", "10"), ("5", "5"), ("0", "0")])
def test_a_second_reminder_not_closer_to_the_due_date_is_refused_and_nothing_is_saved(
    client, practice_manager, first, second
):
    ReminderPreference.objects.create(user=practice_manager, frequency="daily", first_lead_days=7, second_lead_days=1)
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:preferences"), PREFERENCES | {"first_lead_days": first, "second_lead_days": second}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert html.count("Enter fewer days for the second reminder than for the first") == 2  # summary and field
    assert '<a href="#id_second_lead_days">' in html
    assert re.search(
        r'id="id_second_lead_days-error">\s*<span[^>]*>Error: </span>Enter fewer days for the second', html
    )
    assert 'id="id_first_lead_days-error"' not in html
    preference = ReminderPreference.objects.get(user=practice_manager)
    assert (preference.frequency, preference.first_lead_days, preference.second_lead_days) == ("daily", 7, 1)


def test_a_second_reminder_closer_to_the_due_date_is_saved(client, practice_manager):
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:preferences"), PREFERENCES | {"first_lead_days": "14", "second_lead_days": "0"}
    )

    assert response.status_code == 302
    preference = ReminderPreference.objects.get(user=practice_manager)
    assert (preference.frequency, preference.lead_days) == ("weekly", (14, 0))


# --- the template admin --------------------------------------------------------------------------


@pytest.fixture
def editor_client(client, template_editor):
    client.force_login(template_editor)
    return client


def test_the_publish_page_names_changed_fields_as_the_item_table_does(editor_client, guide_version):
    draft = guide_version.copy_as_draft()
    items = ItemTemplate.objects.filter(phase__version=draft)
    items.filter(key="agree-provisional-go-live-date").update(
        offset_days=-14, guide_url="https://example.org/guide", responsible_role="clinical_lead"
    )
    moved = items.get(key="check-dates-against-availability")
    other_phase = draft.phases.exclude(pk=moved.phase_id).first()
    items.filter(pk=moved.pk).update(phase=other_phase, depends_on=["agree-go-live-date"], position=999)

    page = editor_client.get(version_url(draft, "publish")).content.decode()

    shown = text(re.search(r'<ul class="template-differences">(.*?)</ul>', page, re.DOTALL).group(1))
    assert "Changed 'Agree a provisional Go Live date': guide link from 'https://" in shown
    assert "to 'https://example.org/guide'; responsible role from 'Practice manager' to 'Clinical lead'; " in shown
    assert "due date from '1 week before the order date' to '2 weeks before the order date'." in shown
    assert (
        "Changed 'Checking the dates against availability': what it waits for from the items above it in its "
        "phase to 'Do you have an agreed date for when the practice will Go Live on the new system?'; phase from "
        in shown
    )
    for raw_name in ("offset_days", "guide_url", "responsible_role", "depends_on"):
        assert raw_name not in re.search(r'<ul class="template-differences">(.*?)</ul>', page, re.DOTALL).group(1)


def test_saving_a_phase_goes_back_to_its_draft(editor_client, guide_version):
    draft = guide_version.copy_as_draft()
    phase = draft.phases.get(items__key="agree-provisional-go-live-date")
    page = editor_client.get(change_url(phase))
    data = form_data(page) | {f"{item_prefix(page, 'agree-provisional-go-live-date')}title": "Agree a date"}

    response = editor_client.post(change_url(phase), data)

    assert response.status_code == 302
    assert response.url == change_url(draft)
    assert phase.items.get(key="agree-provisional-go-live-date").title == "Agree a date"
    assert TemplateVersion.objects.get(pk=draft.pk).revision == draft.revision + 1


def test_save_and_continue_editing_a_phase_still_stays_on_it(editor_client, guide_version):
    draft = guide_version.copy_as_draft()
    phase = draft.phases.first()
    data = form_data(editor_client.get(change_url(phase))) | {"title": "Renamed phase", "_continue": "Save"}

    response = editor_client.post(change_url(phase), data)

    assert response.status_code == 302
    assert response.url == change_url(phase)
    phase.refresh_from_db()
    assert phase.title == "Renamed phase"


def test_no_template_comment_spans_lines_where_django_would_print_it():
    # Django's {# #} ends at the line's end: one left open is shown on the page as text.
    templates = Path(__file__).resolve().parent.parent / "templates"
    open_comments = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "{#" in line and "#}" not in line[line.index("{#") :]
    ]

    assert open_comments == []
