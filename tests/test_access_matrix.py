"""The access matrix: every URL of the app, for every persona, with the status each must get
(tests/access_routes.py holds the table). The table is checked against the URLconf itself, so a
new view cannot be added without saying who may use it; then staff are scoped by what they do.
"""

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import Event, ItemStatus
from tests.access_routes import (
    AUTH_PUBLIC,
    AUTH_SIGNED_IN,
    DASHBOARD_PERSONAS,
    GATE_KEYS,
    GATE_SIGNERS,
    GRANTED,
    ICB_ITEMS,
    MATRIX,
    PERSONAL_NAMES,
    PERSONAS,
    PRACTICE_PERSONAS,
    REASON,
    SEES_NOTHING,
    TASK_KEY,
    VIEW,
    allowed,
    api_url_names,
    landing_url,
    migration_url_names,
    send,
    sign_in,
    sign_in_redirect,
    snapshot,
    target_of,
    url_of,
    url_patterns,
)

pytestmark = pytest.mark.django_db


# --- the URLconf is covered ---------------------------------------------------------------------------


def test_every_migrations_and_api_url_pattern_is_in_the_matrix():
    covered = {route.name for route in MATRIX} | PERSONAL_NAMES
    uncovered = (migration_url_names() | api_url_names()) - covered
    stale = covered - migration_url_names() - api_url_names()

    assert not uncovered, f"URL patterns missing from the access matrix: {sorted(map(str, uncovered))}"
    assert not stale, f"Matrix rows for URL names that no longer exist: {sorted(stale)}"


def test_every_accounts_url_pattern_is_classified():
    # The app's own pages under accounts/ (API tokens) are in PERSONAL, under their namespace.
    names = {name for namespace, name, route in url_patterns() if route.startswith("accounts/") and not namespace}

    assert names == AUTH_PUBLIC | AUTH_SIGNED_IN


def test_the_url_walk_finds_the_app_and_the_sign_in_pages():
    # Guards the walk itself: if it stopped descending into include(), the checks above would pass on nothing.
    assert "migrations:item_sign_off" in migration_url_names()
    assert "api:migration_detail" in api_url_names()
    assert ("", "login", "accounts/login/") in set(url_patterns())


# --- every route, every persona -----------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", MATRIX, ids=str)
def test_access_matrix(route, persona, request, client, migration, delivery_partner_user):
    user = sign_in(client, request, persona)
    target = target_of(route, migration, finisher=delivery_partner_user, owner=user)
    url = url_of(route, migration, target.pk)
    data = route.data(target, migration)
    before = snapshot()

    response = send(client, route.method, url, data)

    detail_url = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    if persona == "anonymous" and route.is_api:
        # A program is told, as problem details, rather than sent to the sign-in page: 401, with the
        # personal API token's scheme in WWW-Authenticate.
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    elif persona == "anonymous":
        assert response.status_code == 302
        assert response.url == sign_in_redirect(route.method, url)
    elif route.target == "list":
        # The landing page: a practice member goes straight to their migration, people who look
        # across practices to the dashboard, a template editor to the admin, an outsider gets the
        # (empty) list.
        if persona in PRACTICE_PERSONAS:
            assert response.status_code == 302
            assert response.url == detail_url
        elif persona in DASHBOARD_PERSONAS:
            assert response.status_code == 302
            assert response.url == reverse("migrations:dashboard")
        elif persona == "template_editor":
            assert response.status_code == 302
            assert response.url == reverse("admin:index")
        else:
            assert response.status_code == 200
    elif route.target == "dashboard" and route.need == VIEW:
        assert response.status_code == 200
    elif persona in SEES_NOTHING and route.per_migration:
        assert response.status_code == 404
    elif not allowed(route, persona):
        assert response.status_code == 403
    elif route.method == "GET":
        assert response.status_code == 200
    else:
        # A page redirects; the API answers with what it changed.
        assert response.status_code == (200 if route.is_api else 302)
        if not route.is_api:
            assert response.url == landing_url(route, migration, target.pk)
        target.refresh_from_db()
        migration.refresh_from_db()
        route.saved(target, migration, user)
        return
    assert snapshot() == before


@pytest.mark.parametrize(
    "persona", ["practice_manager", "practice_staff", "clinical_lead", "delivery_partner_user", "icb_user"]
)
@pytest.mark.parametrize("gate_kind", GATE_KEYS)
def test_marking_a_gate_not_applicable_needs_the_right_to_sign_it(gate_kind, persona, request, client, migration):
    # Not applicable closes a gate as surely as a sign-off does (its phase counts it as finished), and
    # reopening a gate already needs the right to sign it.
    may_sign = persona in GATE_SIGNERS[gate_kind]
    sign_in(client, request, persona)
    gate = migration.items.get(key=GATE_KEYS[gate_kind])
    # Nothing it waits for is open (a gate is never marked not applicable over open items: test_item_actions).
    gate.open_dependencies().update(status=ItemStatus.NOT_APPLICABLE, reason="Not for this practice")
    url = reverse("migrations:item_not_applicable", kwargs={"pk": migration.pk, "item_pk": gate.pk})
    before = snapshot()

    response = client.post(url, {"revision": gate.revision, "reason": REASON})

    gate.refresh_from_db()
    if may_sign:
        assert response.status_code == 302
        assert gate.status == ItemStatus.NOT_APPLICABLE
    else:
        assert response.status_code == 403
        assert snapshot() == before


def test_the_matrix_expects_what_the_brief_says():
    """Spot checks of the table against the rules as people state them."""
    sign_clinical = next(route for route in MATRIX if route.target == "clinical gate")
    sign_other = next(route for route in MATRIX if route.target == "gate")
    sign_icb = next(route for route in MATRIX if route.target == "icb gate")
    milestones = next(
        route for route in MATRIX if route.name == "migrations:milestones_edit" and route.method == "POST"
    )
    complete = next(route for route in MATRIX if route.name == "migrations:item_complete")

    assert not allowed(sign_clinical, "practice_manager")
    assert not allowed(sign_clinical, "delivery_partner_user")
    assert allowed(sign_clinical, "clinical_lead") and allowed(sign_clinical, "admin_user")
    # The practice's gates are the practice manager's: not the delivery partner's nor the clinical lead's.
    assert allowed(sign_other, "practice_manager")
    assert not allowed(sign_other, "delivery_partner_user") and not allowed(sign_other, "clinical_lead")
    assert not allowed(milestones, "practice_staff") and not allowed(sign_other, "practice_staff")
    assert allowed(complete, "practice_staff")
    # The ICB signs the ICB's gates, and nobody else does but those who act on every migration.
    assert allowed(sign_icb, "icb_user") and allowed(sign_icb, "support_admin")
    assert not any(allowed(sign_icb, persona) for persona in ("practice_manager", "delivery_partner_user"))
    # The ICB changes its own items and nothing else.
    icb_writes = {route for route in MATRIX if route.is_write and allowed(route, "icb_user")}
    assert icb_writes == {route for route in MATRIX if route.target in ICB_ITEMS and route.is_write}
    assert icb_writes and not allowed(complete, "icb_user")
    # Staff by what they do: a template editor reaches no migration; a national viewer and view-only
    # staff write nothing; a support admin may do whatever a delivery partner may, and sign the data gate.
    assert not any(allowed(route, "template_editor") for route in MATRIX)
    assert not any(
        allowed(route, persona)
        for route in MATRIX
        if route.is_write
        for persona in GRANTED
        if GRANTED[persona] == {VIEW}
    )
    assert all(allowed(route, "support_admin") for route in MATRIX)


def csv_practices(client: Client) -> set[str]:
    rows = b"".join(client.get(reverse("migrations:dashboard_csv")).streaming_content).decode().splitlines()[1:]
    return {row.split(",")[0] for row in rows}


def test_a_template_editor_sees_no_migration_anywhere(client, migration, other_migration, template_editor):
    client.force_login(template_editor)

    dashboard = client.get(reverse("migrations:dashboard"))
    csv = client.get(reverse("migrations:dashboard_csv"))

    assert (dashboard.status_code, csv.status_code) == (403, 403)
    assert migration.practice.name not in dashboard.content.decode()
    assert migration.practice.name not in csv.content.decode()
    assert client.get(reverse("migrations:migration_detail", kwargs={"pk": other_migration.pk})).status_code == 404


@pytest.mark.parametrize("persona", ["national_viewer", "view_only_staff"])
def test_readers_of_every_migration_see_every_practice_and_change_nothing(
    persona, request, client, migration, other_migration
):
    sign_in(client, request, persona)
    item = other_migration.items.get(key=TASK_KEY)
    before = snapshot()

    detail = client.get(reverse("migrations:migration_detail", kwargs={"pk": other_migration.pk}))
    tick = client.post(reverse("migrations:item_complete", kwargs={"pk": other_migration.pk, "item_pk": item.pk}))

    assert detail.status_code == 200
    assert tick.status_code == 403
    assert snapshot() == before
    assert csv_practices(client) == {migration.practice.name, other_migration.practice.name}


def test_a_support_admin_acts_on_any_migration_with_the_same_audit_trail(client, other_migration, support_admin):
    client.force_login(support_admin)
    item = other_migration.items.get(key=TASK_KEY)

    client.post(reverse("migrations:item_complete", kwargs={"pk": other_migration.pk, "item_pk": item.pk}))

    item.refresh_from_db()
    assert item.status == ItemStatus.DONE
    assert Event.objects.filter(item=item, actor=support_admin, new_value=ItemStatus.DONE).exists()
