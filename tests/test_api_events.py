"""A migration's event log through the API (migrations_app/api/events.py), newest first a page at
a time, read only; and the organisations a person can see (migrations_app/api/organisations.py):
those of the migrations they can see and their own, every one for those who read every migration."""

import pytest
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import ICB, CheckIn, DeliveryPartner, Event, Practice
from tests.access_routes import OVERRIDE, TASK_KEY
from tests.factories import ICBFactory, PracticeFactory, make_migration
from tests.pages import GATE_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

PROBLEM = "application/problem+json"
ORGANISATIONS_URL = reverse("api:organisation_list")


def events_url(migration) -> str:
    return reverse("api:event_list", kwargs={"pk": migration.pk})


def newest_first(migration) -> list[int]:
    return list(Event.objects.filter(migration=migration).order_by("-at", "-pk").values_list("pk", flat=True))


# --- the event log ------------------------------------------------------------------------------------


def test_the_log_is_the_migrations_events_newest_first(client, practice_manager, clinical_lead, migration):
    item = migration.items.get(key=TASK_KEY)
    item.set_note(practice_manager, "Rang the supplier")
    item.complete(practice_manager)
    migration.items.get(key=GATE_KEY).sign_off(clinical_lead, override_reason=OVERRIDE)
    client.force_login(practice_manager)

    response = client.get(events_url(migration))

    results = response.json()["results"]
    assert response.status_code == 200
    assert [event["id"] for event in results] == newest_first(migration)
    signed, done, noted = results[:3]
    assert signed["kind"] == {"key": "sign_off", "label": "Signed off"}
    assert signed["actor"] == {"id": clinical_lead.pk, "name": str(clinical_lead)}
    assert signed["reason"] == OVERRIDE
    assert (done["field"], done["old_value"], done["new_value"]) == ("status", "to_do", "done")
    assert (done["old_display"], done["new_display"]) == ("To do", "Done")
    assert done["item"] == {"id": item.pk, "title": item.title}
    assert noted["new_value"] == "Rang the supplier"
    assert timezone.datetime.fromisoformat(done["at"]) == Event.objects.get(pk=done["id"]).at


def test_a_migrations_status_change_and_a_check_in_read_as_people_read_them(
    client, practice_manager, delivery_partner_user, migration
):
    CheckIn.give(migration, side="practice", rag="amber", note="Short of staff this week", by=practice_manager)
    migration.hold(delivery_partner_user, "Waiting for the ICB funding")
    client.force_login(practice_manager)

    results = client.get(events_url(migration)).json()["results"]

    held = next(event for event in results if event["field"] == "status" and event["item"] is None)
    check_in = next(event for event in results if event["field"] == "practice_check_in")
    assert (held["old_value"], held["new_value"]) == ("active", "on_hold")
    assert (held["old_display"], held["new_display"]) == ("In progress", "On hold")
    assert check_in["new_display"] == "Amber"


def test_a_change_to_the_migration_has_no_item_and_may_have_no_actor(client, practice_manager, migration):
    client.force_login(practice_manager)

    oldest = client.get(events_url(migration)).json()["results"][-1]

    assert oldest["kind"]["key"] == "created"
    assert oldest["item"] is None


def test_another_migrations_events_are_not_in_the_log(client, practice_manager, admin_user, migration, other_migration):
    other_migration.items.get(key=TASK_KEY).complete(admin_user)
    client.force_login(practice_manager)

    listed = {event["id"] for event in client.get(events_url(migration)).json()["results"]}

    assert listed == set(newest_first(migration))
    assert not listed & set(newest_first(other_migration))


def test_pages_of_the_log_hold_their_place_while_it_grows(client, practice_manager, migration, monkeypatch):
    monkeypatch.setattr("migrations_app.api.events.EventPagination.page_size", 2)
    item = migration.items.get(key=TASK_KEY)
    for number in range(4):
        item.set_note(practice_manager, f"Note {number}")
    expected = newest_first(migration)
    client.force_login(practice_manager)

    first = client.get(events_url(migration)).json()
    item.set_note(practice_manager, "A note written meanwhile")  # at the top: no page after it moves
    pages = [first]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())

    assert [event["id"] for page in pages for event in page["results"]] == expected
    assert client.get(pages[1]["previous"]).json()["results"] == first["results"]


def test_the_log_refuses_unknown_parameters_and_tampered_cursors(client, practice_manager, migration, monkeypatch):
    monkeypatch.setattr("migrations_app.api.events.EventPagination.page_size", 1)
    migration.items.get(key=TASK_KEY).complete(practice_manager)
    client.force_login(practice_manager)
    cursor = client.get(events_url(migration)).json()["next"].split("cursor=")[1]

    unknown = client.get(events_url(migration), {"kind": "status"})
    tampered = client.get(events_url(migration), {"cursor": cursor[:-3] + "abc"})

    assert unknown.status_code == tampered.status_code == 400
    assert tampered.headers["Content-Type"] == PROBLEM
    assert set(unknown.json()["errors"]) == {"kind"}
    assert set(tampered.json()["errors"]) == {"cursor"}


def test_the_log_of_a_migration_the_caller_cannot_see_is_a_404(client, practice_manager, outsider, other_migration):
    client.force_login(practice_manager)
    hidden = client.get(events_url(other_migration))
    client.force_login(outsider)
    outside = client.get(events_url(other_migration))

    assert hidden.status_code == outside.status_code == 404
    assert hidden.json() == outside.json()


def test_the_log_is_read_only(client, admin_user, migration):
    client.force_login(admin_user)

    answers = [
        client.post(events_url(migration), {}, content_type="application/json"),
        client.delete(events_url(migration)),
    ]

    assert [answer.status_code for answer in answers] == [405, 405]


# --- organisations ------------------------------------------------------------------------------------


def listed(client, **params) -> set[tuple[str, int]]:
    response = client.get(ORGANISATIONS_URL, params)
    assert response.status_code == 200
    return {(row["kind"], row["id"]) for row in response.json()["results"]}


def test_a_practice_member_sees_their_practice_its_icb_and_partner(
    client, practice_manager, practice, migration, other_migration
):
    client.force_login(practice_manager)

    response = client.get(ORGANISATIONS_URL)

    rows = response.json()["results"]
    assert {(row["kind"], row["id"]) for row in rows} == {
        ("practice", practice.pk),
        ("icb", practice.icb_id),
        ("delivery_partner", practice.delivery_partner_id),
    }
    [row] = [row for row in rows if row["kind"] == "practice"]
    assert row == {
        "kind": "practice",
        "id": practice.pk,
        "name": practice.name,
        "code": "H85001",
        "icb": practice.icb_id,
        "delivery_partner": practice.delivery_partner_id,
    }


def test_an_icb_lead_sees_their_icb_without_migrations_too(client, icb_user, icb, migration, other_migration):
    quiet = PracticeFactory(icb=icb)  # no migration yet: nothing of it to see
    client.force_login(icb_user)

    seen = listed(client)

    assert ("icb", icb.pk) in seen
    assert ("practice", migration.practice_id) in seen
    assert ("practice", quiet.pk) not in seen
    assert ("practice", other_migration.practice_id) not in seen


def test_the_delivery_partner_sees_the_practices_it_supports(
    client, delivery_partner_user, delivery_partner, guide_version, migration
):
    supported = make_migration(
        practice=PracticeFactory(delivery_partner=delivery_partner), template_version=guide_version
    )
    make_migration(template_version=guide_version)
    client.force_login(delivery_partner_user)

    practices = {pk for kind, pk in listed(client, kind="practice")}

    assert practices == {migration.practice_id, supported.practice_id}


@pytest.mark.parametrize("persona", ["national_viewer", "support_admin"])
def test_those_who_read_every_migration_see_every_organisation(persona, request, client, migration, other_migration):
    ICBFactory()
    client.force_login(request.getfixturevalue(persona))

    seen = listed(client)

    expected = (
        {("icb", pk) for pk in ICB.objects.values_list("pk", flat=True)}
        | {("delivery_partner", pk) for pk in DeliveryPartner.objects.values_list("pk", flat=True)}
        | {("practice", pk) for pk in Practice.objects.values_list("pk", flat=True)}
    )
    assert seen == expected


def test_an_outsider_sees_none(client, outsider, migration):
    client.force_login(outsider)

    assert listed(client) == set()


def test_organisations_come_by_kind_then_name_a_page_at_a_time(client, national_viewer, migration, monkeypatch):
    monkeypatch.setattr("migrations_app.api.pagination.SignedCursorPagination.page_size", 2)
    for number in range(3):
        PracticeFactory(name=f"Practice {number}")
    client.force_login(national_viewer)

    pages = [client.get(ORGANISATIONS_URL).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())

    rows = [(row["kind"], row["name"]) for page in pages for row in page["results"]]
    assert rows == sorted(rows)
    assert len(rows) == ICB.objects.count() + DeliveryPartner.objects.count() + Practice.objects.count()


def test_a_bad_kind_or_parameter_is_a_400(client, national_viewer):
    client.force_login(national_viewer)

    response = client.get(ORGANISATIONS_URL, {"kind": "supplier", "name": "Riverside"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"kind", "name"}
