"""Who sees what on the dashboard, through the client: who lands on it, one row per migration a
user may see, migrations on hold, completed and cancelled, and a planted marker that must appear in
no page, filter option, chart or CSV of a user who may not see its migration. Today is
tests.conftest.TODAY, when the demo migration goes live in 60 days."""

from datetime import timedelta

import pytest
from django.urls import reverse

from migrations_app.dashboard import rows
from migrations_app.dashboard.rag import Rag
from migrations_app.models import PracticeMigration, Role
from tests.conftest import NOW, TODAY, going_live, with_two_factor_device
from tests.factories import (
    DeliveryPartnerFactory,
    ICBFactory,
    MembershipFactory,
    PracticeFactory,
    SupplierFactory,
    UserFactory,
)
from tests.pages import CSV_URL, DASHBOARD_URL, listed, open_dashboard, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


# --- landing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["delivery_partner_user", "icb_user", "admin_user"])
def test_delivery_partner_icb_and_staff_users_land_on_the_dashboard(persona, request, client, migration):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("migrations:home"))

    assert response.status_code == 302
    assert response.url == DASHBOARD_URL


def test_a_practice_user_still_lands_on_their_migration(client, migration, practice_manager):
    client.force_login(practice_manager)

    response = client.get(reverse("migrations:home"))

    assert response.url == reverse("migrations:migration_detail", kwargs={"pk": migration.pk})


# --- who sees which rows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("delivery_partner_user", {"riverside", "hilltop"}),
        ("icb_user", {"riverside", "valley"}),
        ("admin_user", {"riverside", "hilltop", "valley", "faraway"}),
        ("practice_manager", {"riverside"}),
    ],
)
def test_each_user_gets_one_row_per_migration_they_may_see(persona, expected, request, client, world):
    response = open_dashboard(client, request.getfixturevalue(persona))

    assert response.status_code == 200
    assert sorted(listed(response)) == sorted(world[name].pk for name in expected)
    html = response.content.decode()
    for name, each in world.items():
        assert (f'id="migration-{each.pk}"' in html) == (name in expected)


@pytest.mark.parametrize("persona", ["outsider", "template_editor"])
def test_someone_who_reads_no_migration_is_told_the_dashboard_is_not_for_them(persona, request, client, world):
    client.force_login(request.getfixturevalue(persona))

    page = client.get(reverse("migrations:dashboard"))
    csv = client.get(reverse("migrations:dashboard_csv"))

    assert (page.status_code, csv.status_code) == (403, 403)
    assert "your account has no role at a practice, a delivery partner or an ICB" in text(page.content.decode())
    for each in world.values():
        assert each.practice.name not in page.content.decode()


def test_finished_migrations_are_left_out_until_asked_for_and_cancelled_ones_kept_in_reports(client, world, admin_user):
    PracticeMigration.objects.filter(pk=world["faraway"].pk).update(
        status="cancelled", finished_at=NOW, status_reason="Practice merged"
    )
    PracticeMigration.objects.filter(pk=world["valley"].pk).update(status="completed", finished_at=NOW)
    PracticeMigration.objects.filter(pk=world["hilltop"].pk).update(
        status="on_hold", held_at=NOW, status_reason="Waiting for the new supplier"
    )

    in_progress = open_dashboard(client, admin_user)
    on_hold = client.get(DASHBOARD_URL, {"status": "on_hold"})
    completed = client.get(DASHBOARD_URL, {"status": "completed"})
    cancelled = client.get(DASHBOARD_URL, {"status": "cancelled"})
    every = client.get(DASHBOARD_URL, {"status": "all"})

    assert set(listed(in_progress)) == {world["riverside"].pk, world["hilltop"].pk}
    assert listed(on_hold) == [world["hilltop"].pk]
    assert listed(completed) == [world["valley"].pk]
    assert listed(cancelled) == [world["faraway"].pk]
    assert set(listed(every)) == {each.pk for each in world.values()}


# --- access: a planted marker appears nowhere ---------------------------------------------------------

MARKER = "Zqxmarker"


def pages_to_check(marked: PracticeMigration, same_icb: PracticeMigration) -> list[tuple[str, dict]]:
    """Every view of the dashboard, including filters aimed straight at the marked migration."""
    views = [
        {},
        {"status": "all"},
        {"status": "on_hold"},
        {"status": "completed"},
        {"status": "cancelled"},
        {"search": MARKER[1:-1]},  # part of the name, so that the search box echoing it is no leak
        {"search": marked.practice.ods_code},
        {"icb": marked.practice.icb_id},
        {"delivery_partner": marked.practice.delivery_partner_id},
        {"suppliers": f"{marked.source_supplier_id}-{marked.target_supplier_id}"},
        {"phase": "dates-not-agreed"},
        {"page": "2"},
        *({"rag": rag.value} for rag in Rag),
        *({"go_live": window} for window in [*rows.GO_LIVE_WINDOWS, rows.GO_LIVE_NOT_AGREED]),
        *({"sort": sort} for key in rows.SORTABLE for sort in (key, f"-{key}")),
    ]
    return (
        [(DASHBOARD_URL, params) for params in views]
        + [(CSV_URL, params) for params in views]
        + [(reverse("migrations:rag_help"), {}), (reverse("migrations:home"), {})]
    )


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8-sig")


def test_another_organisations_practice_appears_in_no_page_option_chart_or_csv(
    client, guide_version, world, delivery_partner_user, icb_user, admin_user, icb
):
    # Another ICB and delivery partner, their own systems, a practice that has gone live (so it
    # would count in the cutover figures) and one with no dates (its own chart row).
    other_icb = ICBFactory(name=f"{MARKER} Integrated Care Board")
    other_partner = DeliveryPartnerFactory(name=f"{MARKER} Support Unit")
    marked = going_live(
        TODAY - timedelta(days=5),
        practice=PracticeFactory(name=f"{MARKER} Surgery", icb=other_icb, delivery_partner=other_partner),
        source=SupplierFactory(name=f"{MARKER} Health", system_name=f"{MARKER} Web"),
        target=SupplierFactory(name=f"{MARKER} Systems", system_name=f"{MARKER} One"),
        template_version=guide_version,
    )
    going_live(
        None,
        practice=PracticeFactory(name=f"{MARKER} Lane Surgery", icb=other_icb, delivery_partner=other_partner),
        template_version=guide_version,
    )
    # In the ICB user's ICB but with another delivery partner: the delivery partner must not see it.
    same_icb = going_live(
        TODAY + timedelta(days=3),
        practice=PracticeFactory(name="Samezqx Surgery", icb=icb, delivery_partner=DeliveryPartnerFactory()),
        template_version=guide_version,
    )
    # A second delivery-partner user, of the marked organisation, who can see it.
    marked_partner_user = with_two_factor_device(UserFactory())
    MembershipFactory(
        user=marked_partner_user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=other_partner
    )

    checks = {delivery_partner_user: [MARKER, "Samezqx"], icb_user: [MARKER]}
    leaks = []
    for user, markers in checks.items():
        client.force_login(user)
        for url, params in pages_to_check(marked, same_icb):
            content = body(client.get(url, params)).lower()
            leaks += [f"{user.email} {url} {params}: {marker}" for marker in markers if marker.lower() in content]
    assert not leaks, "\n".join(leaks)

    # The test can fail: staff, and the marked organisation's own user, do see the marker everywhere.
    for user in (admin_user, marked_partner_user):
        client.force_login(user)
        page = body(client.get(DASHBOARD_URL, {"status": "all"}))
        assert f"{MARKER} Surgery" in page and f"{MARKER} Web to {MARKER} One" in page
        assert f'<option value="{other_icb.pk}">{MARKER} Integrated Care Board</option>' in page
        assert f"{MARKER} Surgery" in body(client.get(CSV_URL))


def test_a_template_editors_way_home_is_the_admin_and_a_practice_users_their_migrations(
    client, template_editor, practice_manager
):
    client.force_login(template_editor)
    team = client.get(reverse("migrations:team")).content.decode()
    client.force_login(practice_manager)
    practice_team = client.get(reverse("migrations:team")).content.decode()

    assert f'<a href="{reverse("admin:index")}">Go to the administration home page</a>' in team
    assert "Go to your migrations" not in team
    assert f'<a href="{reverse("migrations:home")}">Go to your migrations</a>' in practice_team
