"""Retrospectives after go-live (who writes which side, when, validation, the event log), the Lessons
page (who may open it, which lessons they see, filters, counts, pages, the CSV) and the record."""

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from migrations_app import record, record_pdf
from migrations_app.models import Event, PracticeMigration, Retrospective, Role, User
from migrations_app.models.retrospectives import RetrospectiveArea, Verdict, retrospective_is_open
from tests.conftest import with_two_factor_device
from tests.factories import GO_LIVE_ON, MembershipFactory, SupplierFactory, UserFactory, make_migration

pytestmark = pytest.mark.django_db

# Eleven days after the demo migration's go-live (Monday 9 June 2025).
AFTER_GO_LIVE = datetime(2025, 6, 20, 10, 0, tzinfo=ZoneInfo("Europe/London"))
LESSON = "Book the data-checking clinicians before IDP, not after"
PRACTICE_LESSON = "Train the reception team on the new appointment book a week earlier"

WENT_WELL = {area.value: Verdict.WENT_WELL for area in RetrospectiveArea}
MIXED = WENT_WELL | {"training": Verdict.DID_NOT_GO_WELL, "supplier": Verdict.NOT_APPLICABLE}


@pytest.fixture
def after_go_live(time_machine) -> datetime:
    time_machine.move_to(AFTER_GO_LIVE, tick=False)
    return AFTER_GO_LIVE


def form_data(verdicts: dict | None = None, lesson: str = LESSON, **comments) -> dict:
    data = {"lesson": lesson, **(MIXED if verdicts is None else verdicts)}
    for area in RetrospectiveArea:
        data[area.comment_field] = comments.get(area.value, "")
    return data


def retrospective_url(migration: PracticeMigration) -> str:
    return reverse("migrations:retrospective", kwargs={"pk": migration.pk})


def write(migration, side, by, verdicts=None, lesson=LESSON, **comments) -> Retrospective:
    retrospective, _ = Retrospective.write(
        migration,
        side,
        by=by,
        verdicts=MIXED if verdicts is None else verdicts,
        comments=comments,
        lesson=lesson,
        today=GO_LIVE_ON,
    )
    return retrospective


# --- writing a retrospective ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "side"),
    [
        ("practice_manager", Retrospective.Side.PRACTICE_MANAGER),
        ("delivery_partner_user", Retrospective.Side.DELIVERY_PARTNER),
        # Support admins act for the delivery partner, as they do elsewhere.
        ("support_admin", Retrospective.Side.DELIVERY_PARTNER),
    ],
)
def test_the_practice_manager_and_the_delivery_partner_each_write_their_side(
    persona, side, request, client, migration, after_go_live
):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    form = client.get(retrospective_url(migration))
    response = client.post(retrospective_url(migration), form_data(training="Two sessions were cancelled"))

    assert form.status_code == 200
    assert response.status_code == 302
    assert response.url == reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    saved = Retrospective.objects.get(migration=migration)
    assert (saved.side, saved.written_by, saved.written_at) == (side, user, after_go_live)
    assert (saved.training, saved.training_comment, saved.lesson) == (
        Verdict.DID_NOT_GO_WELL,
        "Two sessions were cancelled",
        LESSON,
    )
    event = Event.objects.get(migration=migration, kind=Event.Kind.RETROSPECTIVE)
    assert (event.actor, event.field, event.old_value) == (user, side, "")
    assert "Training: Did not go well. Two sessions were cancelled" in event.new_value


@pytest.mark.parametrize("persona", ["practice_staff", "clinical_lead", "icb_user", "national_viewer"])
def test_anyone_else_who_can_see_the_migration_gets_403(persona, request, client, migration, after_go_live):
    client.force_login(request.getfixturevalue(persona))

    form = client.get(retrospective_url(migration))
    post = client.post(retrospective_url(migration), form_data())

    assert (form.status_code, post.status_code) == (403, 403)
    assert not Retrospective.objects.exists()


def test_an_outsider_is_told_nothing(client, migration, outsider, after_go_live):
    client.force_login(outsider)

    assert client.post(retrospective_url(migration), form_data()).status_code == 404


def test_before_go_live_the_retrospective_is_refused(client, migration, practice_manager, frozen_now):
    client.force_login(practice_manager)

    form = client.get(retrospective_url(migration))
    post = client.post(retrospective_url(migration), form_data())

    assert (form.status_code, post.status_code) == (403, 403)
    assert "The retrospective opens at go-live, on 9 June 2025." in post.content.decode()
    # Refused for now, not for the person's role: the page says so.
    assert "<h1>The retrospective is not open yet</h1>" in form.content.decode()
    assert "permission" not in form.content.decode()
    assert not Retrospective.objects.exists()
    assert (
        "Retrospective" not in client.get(reverse("migrations:migration_detail", args=[migration.pk])).content.decode()
    )


def test_it_opens_on_the_go_live_day_and_when_completed_never_when_cancelled(migration, delivery_partner_user):
    assert not retrospective_is_open(migration, GO_LIVE_ON.replace(day=8))
    assert retrospective_is_open(migration, GO_LIVE_ON)
    migration.cancel(delivery_partner_user, "The practice merged")
    assert not retrospective_is_open(migration, GO_LIVE_ON)
    completed = make_migration(status=PracticeMigration.Status.COMPLETED, finished_at=AFTER_GO_LIVE, go_live_on=None)
    assert retrospective_is_open(completed, date(2025, 1, 1))


def test_a_completed_migration_still_takes_its_retrospective(client, migration, delivery_partner_user, after_go_live):
    PracticeMigration.objects.filter(pk=migration.pk).update(status="completed", finished_at=AFTER_GO_LIVE)
    client.force_login(delivery_partner_user)

    response = client.post(retrospective_url(migration), form_data())

    assert response.status_code == 302
    assert Retrospective.objects.filter(migration=migration, side=Role.DELIVERY_PARTNER).exists()


def test_missing_answers_save_nothing_and_say_what_is_missing(client, migration, practice_manager, after_go_live):
    client.force_login(practice_manager)
    verdicts = {key: value for key, value in MIXED.items() if key != "cutover"}

    response = client.post(retrospective_url(migration), form_data(verdicts, lesson="   "))

    page = response.content.decode()
    assert response.status_code == 400
    assert "Select whether cutover went well, did not go well or does not apply" in page
    assert 'href="#id_cutover_0"' in page
    assert "Enter the lesson you would pass on" in page
    assert "<title>Error: " in page
    assert not Retrospective.objects.exists()
    assert not Event.objects.filter(kind=Event.Kind.RETROSPECTIVE).exists()


def test_a_side_rewrites_its_retrospective_and_the_log_keeps_both(client, migration, practice_manager, after_go_live):
    colleague = UserFactory(email="second.manager@example.nhs.uk")
    MembershipFactory(user=colleague, role=Role.PRACTICE_MANAGER, practice=migration.practice)
    write(migration, Role.PRACTICE_MANAGER, practice_manager)
    client.force_login(colleague)

    form = client.get(retrospective_url(migration))
    unchanged = client.post(retrospective_url(migration), form_data())
    changed = client.post(retrospective_url(migration), form_data(lesson=PRACTICE_LESSON))

    assert LESSON in form.content.decode()  # the form shows what was written
    assert (unchanged.status_code, changed.status_code) == (302, 302)
    saved = Retrospective.objects.get()
    assert (saved.written_by, saved.changed_by, saved.lesson) == (practice_manager, colleague, PRACTICE_LESSON)
    events = list(Event.objects.filter(kind=Event.Kind.RETROSPECTIVE).order_by("pk"))
    assert len(events) == 2  # the first writing and the change; nothing for the unchanged save
    assert events[1].actor == colleague
    assert f"Lesson: {LESSON}" in events[1].old_value and f"Lesson: {PRACTICE_LESSON}" in events[1].new_value


def test_the_migration_page_says_which_sides_have_written(
    client, migration, practice_manager, delivery_partner_user, after_go_live
):
    write(migration, Role.DELIVERY_PARTNER, delivery_partner_user)
    client.force_login(practice_manager)

    page = client.get(reverse("migrations:migration_detail", args=[migration.pk])).content.decode()

    assert 'id="retrospective-heading"' in page
    assert "Not written yet" in page
    assert f"Written by {delivery_partner_user}" in page
    assert f'href="{retrospective_url(migration)}">Write' in page


# --- the Lessons page ------------------------------------------------------------------------------------


@pytest.fixture
def lessons(migration, other_migration, practice_manager, delivery_partner_user, source_supplier):
    """The demo practice's two retrospectives, and one of another practice (another delivery partner,
    ICB and systems) written by its own delivery partner."""
    other_partner_user = with_two_factor_device(UserFactory(email="other.partner@example.nhs.uk"))
    MembershipFactory(
        user=other_partner_user,
        role=Role.DELIVERY_PARTNER,
        practice=None,
        delivery_partner=other_migration.practice.delivery_partner,
    )
    return {
        "partner": write(migration, Role.DELIVERY_PARTNER, delivery_partner_user),
        "practice": write(
            migration, Role.PRACTICE_MANAGER, practice_manager, WENT_WELL, PRACTICE_LESSON, training="Good"
        ),
        "other": write(
            other_migration,
            Role.DELIVERY_PARTNER,
            other_partner_user,
            {area.value: Verdict.DID_NOT_GO_WELL for area in RetrospectiveArea},
            '=HYPERLINK("http://example.com") ran late',
        ),
        "other_partner_user": other_partner_user,
    }


def lessons_page(client, **params):
    return client.get(reverse("migrations:lessons"), params)


def shown(response) -> set[str]:
    return {retrospective.lesson for retrospective in response.context["page"].object_list}


def test_a_delivery_partner_sees_its_practices_lessons_and_not_another_partners(client, lessons, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = lessons_page(client)

    assert response.status_code == 200
    assert shown(response) == {LESSON, PRACTICE_LESSON}
    assert "ran late" not in response.content.decode()


def test_the_other_delivery_partner_sees_only_its_own(client, lessons):
    client.force_login(lessons["other_partner_user"])

    assert shown(lessons_page(client)) == {lessons["other"].lesson}


def test_an_icb_sees_its_practices_lessons_and_national_viewers_see_all(client, lessons, icb_user, national_viewer):
    client.force_login(icb_user)
    icb = shown(lessons_page(client))
    client.force_login(national_viewer)
    national = shown(lessons_page(client))

    assert icb == {LESSON, PRACTICE_LESSON}
    assert national == {LESSON, PRACTICE_LESSON, lessons["other"].lesson}


@pytest.mark.parametrize("persona", ["practice_manager", "practice_staff", "clinical_lead", "outsider"])
def test_practice_users_and_outsiders_get_403(persona, request, client, lessons):
    client.force_login(request.getfixturevalue(persona))

    assert lessons_page(client).status_code == 403
    assert client.get(reverse("migrations:lessons_csv")).status_code == 403


def test_the_navigation_links_to_lessons_for_those_who_may_open_it(
    client, migration, delivery_partner_user, practice_manager
):
    client.force_login(delivery_partner_user)
    partner_page = client.get(reverse("migrations:dashboard")).content.decode()
    client.force_login(practice_manager)
    practice_page = client.get(reverse("migrations:migration_detail", args=[migration.pk])).content.decode()

    assert f'href="{reverse("migrations:lessons")}">Lessons' in partner_page
    assert reverse("migrations:lessons") not in practice_page


def test_filters_by_supplier_pair_area_and_year(client, lessons, national_viewer, migration, other_migration):
    client.force_login(national_viewer)
    pair = f"{migration.source_supplier_id}-{migration.target_supplier_id}"
    Retrospective.objects.filter(pk=lessons["practice"].pk).update(supplier=Verdict.NOT_APPLICABLE)
    PracticeMigration.objects.filter(pk=other_migration.pk).update(
        fdp_on=date(2026, 1, 2), go_live_on=date(2026, 1, 5), old_system_access_end_on=date(2026, 4, 5)
    )

    assert shown(lessons_page(client, suppliers=pair)) == {LESSON, PRACTICE_LESSON}
    # The partner said nothing of the supplier (not applicable, no comment); the practice manager did not judge it.
    assert shown(lessons_page(client, area="supplier")) == {lessons["other"].lesson}
    assert shown(lessons_page(client, area="training")) == {LESSON, PRACTICE_LESSON, lessons["other"].lesson}
    assert shown(lessons_page(client, year="2026")) == {lessons["other"].lesson}
    assert shown(lessons_page(client, year="2025", suppliers=pair)) == {LESSON, PRACTICE_LESSON}


def test_a_bad_filter_is_reported_and_ignored(client, lessons, national_viewer):
    client.force_login(national_viewer)

    response = lessons_page(client, area="morale", year="1999")

    assert response.status_code == 400
    page = response.content.decode()
    assert "Select an area from the list" in page and "Select a year from the list" in page
    assert len(shown(response)) == 3


def test_the_filters_offer_only_what_the_person_can_see(client, lessons, delivery_partner_user, other_migration):
    client.force_login(delivery_partner_user)

    form = lessons_page(client).context["form"]

    other_pair = f"{other_migration.source_supplier_id}-{other_migration.target_supplier_id}"
    assert other_pair not in dict(form.fields["suppliers"].choices)
    assert dict(form.fields["year"].choices) == {"": "Any year", "2025": "2025"}


def test_counts_by_area_went_well_and_did_not(client, lessons, national_viewer, delivery_partner_user):
    client.force_login(national_viewer)
    everyone = {area.value: (well, not_well) for area, well, not_well in lessons_page(client).context["area_counts"]}
    client.force_login(delivery_partner_user)
    partner = {area.value: (well, not_well) for area, well, not_well in lessons_page(client).context["area_counts"]}

    # MIXED (training did not go well, supplier not applicable), WENT_WELL, and all did not go well.
    assert everyone["data_quality"] == (2, 1)
    assert everyone["training"] == (1, 2)
    assert everyone["supplier"] == (1, 1)
    assert partner["training"] == (1, 1)
    assert partner["supplier"] == (1, 0)


def test_lessons_are_paged(client, national_viewer, guide_version, practice_manager):
    client.force_login(national_viewer)
    for number in range(21):
        migration = make_migration(template_version=guide_version, source_supplier=SupplierFactory())
        write(migration, Role.DELIVERY_PARTNER, practice_manager, lesson=f"Lesson {number}")

    first, second = lessons_page(client), lessons_page(client, page=2)

    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 1
    assert 'aria-label="Page 2"' in first.content.decode()


# The session, the user and their two-factor device (the middleware), their standing, the filters'
# facets, the page's count, the counts by area, the page's rows: whatever the number of lessons.
LESSONS_QUERIES = 8


def test_the_lessons_page_reads_a_fixed_number_of_queries(
    client, lessons, national_viewer, guide_version, practice_manager, django_assert_num_queries
):
    for _ in range(5):
        write(make_migration(template_version=guide_version), Role.DELIVERY_PARTNER, practice_manager)
    client.force_login(national_viewer)

    with django_assert_num_queries(LESSONS_QUERIES):
        lessons_page(client)


def test_the_csv_has_every_filtered_lesson_with_formulas_neutralised(client, lessons, national_viewer, migration):
    client.force_login(national_viewer)

    response = client.get(reverse("migrations:lessons_csv"))
    everything = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    pair = f"{migration.source_supplier_id}-{migration.target_supplier_id}"
    filtered = client.get(reverse("migrations:lessons_csv"), {"suppliers": pair})
    rows = list(csv.reader(io.StringIO(b"".join(filtered.streaming_content).decode().lstrip("\ufeff"))))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header = everything[0]
    assert header[:6] == ["Practice", "ODS code", "Current system", "New system", "Go-live", "Written by (role)"]
    assert header[-1] == "Lesson"
    assert len(everything) == 4
    assert '\'=HYPERLINK("http://example.com") ran late' in [row[-1] for row in everything]
    by_lesson = {row[-1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_lesson) == {LESSON, PRACTICE_LESSON}
    assert by_lesson[LESSON]["Training"] == "Did not go well"
    assert by_lesson[PRACTICE_LESSON]["Training: comment"] == "Good"
    assert by_lesson[PRACTICE_LESSON]["Written by (role)"] == "Practice manager"
    assert by_lesson[LESSON]["Go-live"] == GO_LIVE_ON.isoformat()


def test_a_bad_filter_refuses_the_csv(client, lessons, national_viewer):
    client.force_login(national_viewer)

    response = client.get(reverse("migrations:lessons_csv"), {"area": "morale"})

    assert response.status_code == 400


# --- the record ------------------------------------------------------------------------------------------


def test_the_record_shows_both_sides_retrospectives(client, lessons, migration, practice_manager):
    built = record.build(migration)
    client.force_login(practice_manager)
    page = client.get(reverse("migrations:migration_record", args=[migration.pk])).content.decode()

    assert [line.side for line in built.retrospectives] == ["Practice manager", "Delivery partner project manager"]
    assert built.retrospectives[1].lesson == LESSON
    assert ("Training", "Did not go well", "") in built.retrospectives[1].areas
    assert 'id="retrospective"' in page and LESSON in page and PRACTICE_LESSON in page
    assert "Retrospective written" in page  # the event log's count of them
    assert record_pdf.render(built).startswith(b"%PDF-")


def test_the_record_says_when_none_is_written(client, migration, practice_manager):
    client.force_login(practice_manager)

    page = client.get(reverse("migrations:migration_record", args=[migration.pk])).content.decode()

    assert record.build(migration).retrospectives == []
    assert "No retrospective has been written yet." in page


# --- demo data -------------------------------------------------------------------------------------------


def test_the_demo_has_lessons_for_its_delivery_partner(client, guide_version, settings, time_machine):
    settings.DEBUG = True  # demo data is for development (tests/test_demo_data.py)
    time_machine.move_to(AFTER_GO_LIVE, tick=False)
    call_command("seed_demo", stdout=io.StringIO())
    partner = with_two_factor_device(User.objects.get(email="dp@demo.migration-tracker.localhost"))
    client.force_login(partner)

    response = lessons_page(client)

    assert Retrospective.objects.filter(migration__practice__name="Meadowbank Surgery").count() == 2
    assert len(shown(response)) == 2
