"""Changing a migration's milestone dates through the page: the form, the preview of the due dates
that move, saving on confirmation, and wrong dates explained with nothing changed."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from migrations_app.models import Event, ItemStatus, Milestone, PracticeMigration
from migrations_app.scheduling import due_date
from tests.factories import GO_LIVE_ON
from tests.pages import detail_url, element, error_summary, item, schedule, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


# --- milestones -----------------------------------------------------------------------------------------


def date_boxes(html: str, milestone: str) -> tuple[str, str, str]:
    return tuple(
        re.search(rf'name="{milestone}-{part}"[^>]*value="([^"]*)"', html).group(1) for part in ("day", "month", "year")
    )


def milestone_data(migration: PracticeMigration, **changed: tuple[str, str, str]) -> dict:
    """Every milestone's three boxes as the form shows them, with `changed` typed over."""
    data = {"reason": "The supplier moved the go-live"}
    for milestone in Milestone:
        current = getattr(migration, milestone.field_name)
        day, month, year = changed.get(milestone.value) or (str(current.day), str(current.month), str(current.year))
        data |= {f"{milestone.value}-day": day, f"{milestone.value}-month": month, f"{milestone.value}-year": year}
    return data


def test_the_milestones_form_shows_the_current_dates_in_day_month_and_year_boxes(client, migration, practice_manager):
    client.force_login(practice_manager)

    html = client.get(reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})).content.decode()

    assert date_boxes(html, "go_live") == ("9", "6", "2025")
    assert date_boxes(html, "fdp") == ("6", "6", "2025")
    assert date_boxes(html, "order_accepted") == ("3", "3", "2025")


def test_moving_go_live_shows_a_preview_then_saves_on_confirmation(client, migration, practice_manager):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    sign_off = item(migration, "go-live-sign-off")
    already_done = item(migration, "registration-links-checked")  # go-live anchored too, but done
    already_done.complete(practice_manager)
    before = schedule(migration)
    client.force_login(practice_manager)
    data = milestone_data(migration, go_live=("16", "6", "2025"))

    preview = client.post(url, data, follow=True)

    html = preview.content.decode()
    assert preview.status_code == 200
    assert "9 June 2025 to <strong>16 June 2025</strong>" in html
    moved = [text(row) for row in re.findall(r"<tr class=\"nhsuk-table__row\">(.*?)</tr>", html, re.DOTALL)]
    assert f"{sign_off.title} 9 Jun 2025 16 Jun 2025" in moved
    assert not any(row.startswith(already_done.title) for row in moved)
    assert schedule(migration) == before

    saved = client.post(url, data | {"confirm": "yes"})

    assert saved.status_code == 302
    assert saved.url == detail_url(migration)
    migration.refresh_from_db()
    assert migration.go_live_on == date(2025, 6, 16)
    sign_off.refresh_from_db()
    already_done.refresh_from_db()
    assert sign_off.due_on == date(2025, 6, 16)
    assert already_done.due_on == date(2025, 6, 9)
    open_on_go_live = migration.items.filter(anchor=Milestone.GO_LIVE).exclude(
        status__in=[ItemStatus.DONE, ItemStatus.NOT_APPLICABLE]
    )
    new_go_live = {"go_live": GO_LIVE_ON + timedelta(days=7)}
    assert all(each.due_on == due_date(new_go_live, "go_live", each.offset_days) for each in open_on_go_live)
    events = Event.objects.filter(migration=migration, actor=practice_manager)
    assert list(events.filter(kind=Event.Kind.MILESTONE).values_list("field", "old_value", "new_value", "reason")) == [
        ("go_live_on", "2025-06-09", "2025-06-16", "The supplier moved the go-live")
    ]
    assert events.filter(kind=Event.Kind.REPLAN).count() == open_on_go_live.count()


def test_the_preview_is_a_page_of_its_own_that_back_after_saving_opens_as_the_form(client, migration, practice_manager):
    # The browser's Back from the migration page after saving opens the preview's address again:
    # a GET, not a form to send again, and with the dates saved it shows the form.
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)
    data = milestone_data(migration, go_live=("16", "6", "2025"))

    sent = client.post(url, data)
    preview = client.get(sent.url)
    saved = client.post(url, data | {"confirm": "yes"})
    back = client.get(sent.url)

    assert (sent.status_code, sent.url) == (302, f"{url}?preview=yes")
    assert "9 June 2025 to <strong>16 June 2025</strong>" in preview.content.decode()
    assert text(element(preview.content.decode(), "reason")) == data["reason"]  # shown, as saved
    assert saved.status_code == 302
    assert back.status_code == 200
    page = back.content.decode()
    assert 'name="confirm"' not in page  # the form, not a preview of a change made already
    assert "Preview changes" in text(page)
    migration.refresh_from_db()
    assert migration.go_live_on == date(2025, 6, 16)


def preview_url(client, url: str, data: dict) -> str:
    return client.post(url, data).url


def test_back_from_the_preview_keeps_the_dates_typed(client, migration, practice_manager):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)
    data = milestone_data(migration, go_live=("16", "6", "2025"), fdp=("12", "6", "2025"))
    data["reason"] = "Supplier slot moved & confirmed"

    preview = client.post(url, data, follow=True).content.decode()
    back = re.search(r'class="nhsuk-back-link" href="([^"]+)"', preview).group(1).replace("&amp;", "&")
    form = client.get(back)

    html = form.content.decode()
    # Neither address carries what was typed: the reason is free text, and addresses are logged.
    assert "Supplier" not in preview_url(client, url, data) + back
    assert back == url + "?back=yes"
    assert form.status_code == 200
    assert date_boxes(html, "go_live") == ("16", "6", "2025")
    assert date_boxes(html, "fdp") == ("12", "6", "2025")
    assert date_boxes(html, "order_accepted") == ("3", "3", "2025")
    assert "Supplier slot moved &amp; confirmed" in html
    assert "nhsuk-error-summary" not in html
    migration.refresh_from_db()
    assert migration.go_live_on == date(2025, 6, 9)  # nothing saved


def test_saving_the_milestones_unchanged_says_so_and_changes_nothing(client, migration, practice_manager):
    before = schedule(migration)
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}), milestone_data(migration), follow=True
    )

    assert response.redirect_chain == [(detail_url(migration), 302)]
    assert "No dates were changed." in response.content.decode()
    assert schedule(migration) == before


@pytest.mark.parametrize(
    ("go_live", "message"),
    [
        pytest.param(("5", "6", "2025"), "Go-live cannot be before final data production (FDP).", id="before FDP"),
        pytest.param(("31", "2", "2027"), "Go-live must be a real date, for example 27 3 2027", id="no 31 February"),
        pytest.param(("9", "six", "2025"), "Go-live must be a real date, for example 27 3 2027", id="month in words"),
        pytest.param(("9", "6", ""), "Go-live must include a year", id="no year"),
        pytest.param(("", "6", ""), "Go-live must include a day and year", id="month only"),
    ],
)
@pytest.mark.parametrize("confirm", ["", "yes"])
def test_a_wrong_milestone_date_is_explained_and_changes_nothing(
    go_live, message, confirm, client, migration, practice_manager
):
    before = schedule(migration)
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}),
        milestone_data(migration, go_live=go_live) | {"confirm": confirm},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert message in error_summary(html)
    assert 'id="go_live-error"' in html
    assert date_boxes(html, "go_live") == go_live  # what was typed is kept
    assert schedule(migration) == before


def loaded_form(client, migration: PracticeMigration) -> dict:
    """Every field of the milestones form as the page gives it: the boxes and the dates shown."""
    html = client.get(reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})).content.decode()
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+-(?:day|month|year|was))"[^>]*value="([^"]*)"', html))
    assert len(fields) == 4 * len(Milestone)
    return fields | {"reason": ""}


def test_saving_from_a_page_opened_before_someone_else_saved_keeps_their_dates(
    client, migration, practice_manager, delivery_partner_user
):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)
    stale = loaded_form(client, migration)
    client.force_login(delivery_partner_user)
    theirs = loaded_form(client, migration) | {"go_live-day": "16"}
    assert client.post(url, theirs | {"confirm": "yes"}).status_code == 302
    client.force_login(practice_manager)

    mine = stale | {"kick_off-day": "12"}  # kick-off was 10 March 2025
    preview = client.post(url, mine, follow=True).content.decode()
    saved = client.post(url, mine | {"confirm": "yes"})

    changes = text(re.search(r'<dl class="nhsuk-summary-list">.*?</dl>', preview, re.DOTALL).group(0))
    assert changes == "Kick-off 10 March 2025 to 12 March 2025"  # only the date this person changed
    assert saved.status_code == 302
    migration.refresh_from_db()
    assert (migration.kick_off_on, migration.go_live_on) == (date(2025, 3, 12), date(2025, 6, 16))


@pytest.mark.parametrize("confirm", ["", "yes"])
def test_changing_a_date_someone_else_changed_since_the_page_was_opened_is_refused(
    confirm, client, migration, practice_manager, delivery_partner_user
):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)
    stale = loaded_form(client, migration)
    client.force_login(delivery_partner_user)
    assert client.post(url, loaded_form(client, migration) | {"go_live-day": "16", "confirm": "yes"}).status_code == 302
    before = schedule(migration)
    client.force_login(practice_manager)

    response = client.post(url, stale | {"go_live-day": "23", "confirm": confirm})

    html = response.content.decode()
    assert response.status_code == 400
    assert error_summary(html) == (
        "Go-live: someone else changed it to 16 June 2025 since the page was opened. Check the date, then save again"
    )
    assert date_boxes(html, "go_live") == ("23", "6", "2025")  # what was typed is kept
    assert schedule(migration) == before
    # Sent again as it now stands, the change is the person's to make.
    again = dict(re.findall(r'<input[^>]*name="([a-z_]+-was)"[^>]*value="([^"]*)"', html))
    assert client.post(url, stale | again | {"go_live-day": "23", "confirm": "yes"}).status_code == 302
    migration.refresh_from_db()
    assert migration.go_live_on == date(2025, 6, 23)


def test_a_date_moved_out_of_order_is_the_one_the_message_points_to(client, migration, practice_manager):
    client.force_login(practice_manager)
    data = loaded_form(client, migration) | {"kick_off-month": "7"}  # after go-live, 9 June 2025

    response = client.post(reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}), data)

    html = response.content.decode()
    assert response.status_code == 400
    assert 'href="#kick_off-day"' in html
    assert 'id="kick_off-error"' in html and 'id="go_live-error"' not in html


@pytest.mark.parametrize("confirm", ["", "yes"])
def test_the_order_date_can_be_changed_but_not_removed(client, migration, practice_manager, confirm):
    before = schedule(migration)
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}),
        milestone_data(migration, order_accepted=("", "", "")) | {"confirm": confirm},
    )

    assert response.status_code == 400
    assert error_summary(response.content.decode()) == "Enter the order date: it can be changed but not removed"
    assert schedule(migration) == before


def test_resuming_from_a_page_opened_before_someone_else_changed_the_dates_keeps_theirs(
    client, migration, practice_manager, delivery_partner_user
):
    migration.hold(delivery_partner_user, "Waiting for the new supplier")
    resume = reverse("migrations:migration_resume", kwargs={"pk": migration.pk})
    client.force_login(delivery_partner_user)
    html = client.get(resume).content.decode()
    stale = dict(re.findall(r'<input[^>]*name="([a-z_]+-(?:day|month|year|was))"[^>]*value="([^"]*)"', html))
    assert len(stale) == 4 * len(Milestone)
    # Meanwhile, in another tab, go-live moves a week later.
    edit = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    moved = loaded_form(client, migration) | {"go_live-day": "16", "confirm": "yes"}
    assert client.post(edit, moved).status_code == 302

    preview = client.post(resume, stale | {"reason": "Supplier ready"}, follow=True).content.decode()
    resumed = client.post(resume, stale | {"reason": "Supplier ready", "confirm": "yes"})

    assert "No milestone date changes." in preview  # nothing of the dates to change
    assert resumed.status_code == 302
    migration.refresh_from_db()
    assert (migration.status, migration.go_live_on) == (PracticeMigration.Status.ACTIVE, date(2025, 6, 16))


@pytest.mark.parametrize("page", ["milestones_edit", "conditions_edit"])
def test_back_to_the_checklist_opens_the_page_at_the_checklist(page, client, migration, practice_manager):
    client.force_login(practice_manager)

    html = client.get(reverse(f"migrations:{page}", kwargs={"pk": migration.pk})).content.decode()

    back = re.search(r'class="nhsuk-back-link" href="([^"]+)">Back to the checklist', html).group(1)
    assert back == detail_url(migration) + "#checklist"


@pytest.mark.parametrize(("moved_by", "folded"), [("go_live", True), ("kick_off", False)])
def test_a_long_list_of_due_dates_that_move_is_folded_so_that_saving_stays_near(
    client, migration, practice_manager, moved_by, folded
):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    current = getattr(migration, Milestone(moved_by).field_name) + timedelta(days=1)
    client.force_login(practice_manager)

    preview = client.post(
        url,
        milestone_data(migration, **{moved_by: (str(current.day), str(current.month), str(current.year))}),
        follow=True,
    )

    moves = preview.context["moves"]
    html = preview.content.decode()
    assert moves and (len(moves) > 10) == folded
    assert (f"Show the {len(moves)} items and their new due dates" in text(html)) == folded
    assert html.count('<tr class="nhsuk-table__row">') == len(moves) + 1  # every move listed, folded or not
