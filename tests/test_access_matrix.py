"""The access matrix: every URL of the app, for every persona, with the status each must get.

The table below is checked against the URLconf itself, so a new view cannot be added without
saying who may use it. The expected statuses are written out here from the rules (STYLE.md,
Access), not read from access.py, so a change of the rules there shows up as a failure here.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from migrations_app import reminder_emails
from migrations_app.guide import loader
from migrations_app.models import (
    ChecklistItem,
    Event,
    ItemStatus,
    Milestone,
    PracticeMigration,
    ReminderPreference,
    TemplateVersion,
    User,
)
from tests.factories import GO_LIVE_ON, MILESTONE_DATES, make_migration

pytestmark = pytest.mark.django_db

# --- permissions, written out from the rules --------------------------------------------------------

VIEW = "view"
TICK = "tick"  # mark done, reopen, not applicable, blocked, notes
EDIT_MILESTONES = "edit_milestones"
SIGN_GATES = "sign_gates"
EDITOR = {VIEW, TICK, EDIT_MILESTONES, SIGN_GATES}
# Moving a checklist to a later template version: the delivery partner runs the project plan and
# admins maintain the templates; practice users work the checklist they are given.
UPGRADE_CHECKLIST = "upgrade_checklist"

PERSONAS = [
    "practice_manager",
    "practice_staff",
    "clinical_lead",
    "delivery_partner_user",
    "icb_user",
    "outsider",
    "admin_user",
    "support_admin",
    "national_viewer",
    "view_only_staff",
    "template_editor",
    "anonymous",
]
# Staff are scoped by what they do, not by being staff: a superuser and a support admin act on every
# migration; a national viewer and a staff user with only the view permission on migrations read
# every one and change nothing; a template editor (staff, for the admin) sees none, as an outsider.
GRANTED = {
    "practice_manager": EDITOR,
    "clinical_lead": EDITOR,
    "delivery_partner_user": EDITOR | {UPGRADE_CHECKLIST},
    "admin_user": EDITOR | {UPGRADE_CHECKLIST},
    "support_admin": EDITOR | {UPGRADE_CHECKLIST},
    "practice_staff": {VIEW, TICK},
    "icb_user": {VIEW},
    "national_viewer": {VIEW},
    "view_only_staff": {VIEW},
    "outsider": set(),
    "template_editor": set(),
    "anonymous": set(),
}
PRACTICE_PERSONAS = {"practice_manager", "practice_staff", "clinical_lead"}
DASHBOARD_PERSONAS = {
    "delivery_partner_user",
    "icb_user",
    "admin_user",
    "support_admin",
    "national_viewer",
    "view_only_staff",
}
# Signed in, but with no migration to see: a 404 for every migration (we never reveal one exists).
SEES_NOTHING = {"outsider", "template_editor"}
# The guide gives the data-checking sign-off to the practice's lead clinician: only a clinical lead
# (or someone who acts on every migration) may sign it. Other gates: anyone who may sign gates.
CLINICAL_GATE_SIGNERS = {"clinical_lead", "admin_user", "support_admin"}
# Personas who can see the demo migration but have nothing to do with another practice's, and the
# template editor, who sees neither.
MEMBERS = [
    "practice_manager",
    "practice_staff",
    "clinical_lead",
    "delivery_partner_user",
    "icb_user",
    "template_editor",
]

# Items of the published guide the routes act on.
TASK_KEY = "agree-go-live-date"  # an ordinary task, practice manager's
GATE_KEY = "technical-requirements-signed-off"  # a gate for the practice manager
CLINICAL_GATE_KEY = "data-checking-sign-off"  # the gate for the clinical lead

NOTE = "Rang the new supplier about the extract"
REASON = "The practice does not use this service"
OVERRIDE = "Agreed at the project board on 1 April"
NEW_GO_LIVE_ON = GO_LIVE_ON + timedelta(days=7)


# --- what each route sends, and the change an allowed POST must make --------------------------------


def no_data(target, migration: PracticeMigration) -> dict:
    return {}


def revision_data(**fields) -> Callable[[ChecklistItem, PracticeMigration], dict]:
    def build(item: ChecklistItem, migration: PracticeMigration) -> dict:
        return {"revision": item.revision, **fields}

    return build


def milestones_data(item, migration: PracticeMigration) -> dict:
    """Every milestone in its date boxes, go-live a week later, confirmed."""
    dates = MILESTONE_DATES | {"go_live_on": NEW_GO_LIVE_ON}
    data = {"confirm": "yes", "reason": "Supplier moved the date"}
    for milestone in Milestone:
        value = dates[milestone.field_name]
        data |= {
            f"{milestone.value}-day": str(value.day),
            f"{milestone.value}-month": str(value.month),
            f"{milestone.value}-year": str(value.year),
        }
    return data


def upgrade_data(item, migration: PracticeMigration) -> dict:
    """A later version of the guide (one item renamed), and the POST that applies it."""
    current = migration.template_version
    data = loader.export(current)
    data["phases"][0]["items"][0]["title"] += " (revised)"
    version = loader.create_draft(data)
    version.publish("Revised wording")
    return {"version": version.pk}


def assert_done(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.status == ItemStatus.DONE
    assert item.completed_by == user


def assert_reopened(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.status == ItemStatus.TO_DO
    assert item.completed_by is None


def assert_noted(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.note == NOTE


def assert_signed(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.status == ItemStatus.DONE
    assert item.completed_by == user
    assert item.override_reason == OVERRIDE


def assert_not_applicable(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.status == ItemStatus.NOT_APPLICABLE
    assert item.reason == REASON


def assert_blocked(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.status == ItemStatus.BLOCKED
    assert item.reason == REASON


def assert_upgraded(item, migration: PracticeMigration, user: User) -> None:
    assert migration.template_version == TemplateVersion.objects.published().order_by("-number").first()
    assert Event.objects.filter(migration=migration, item=None, kind=Event.Kind.UPGRADE, actor=user).exists()


def assert_go_live_moved(item, migration: PracticeMigration, user: User) -> None:
    assert migration.go_live_on == NEW_GO_LIVE_ON
    assert Event.objects.filter(migration=migration, kind=Event.Kind.MILESTONE, field="go_live_on", actor=user).exists()


# --- the matrix ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern and method: what it needs and what it acts on.

    target: "list" (no kwargs, the landing page), "dashboard" (no kwargs, the dashboard pages),
    "migration" (pk), "task" / "done task" (pk and an ordinary task item, done first for a reopen),
    "gate" / "clinical gate" (pk and that gate item), "signed gate" / "signed clinical gate" (the gate,
    signed off first for a reopen), "archived task" (the task, archived as an upgrade archives it).
    """

    name: str
    method: str
    need: str
    target: str
    data: Callable = no_data
    saved: Callable | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.method} {self.name}" + (f" ({self.target})" if self.target != "task" and self.on_item else "")

    @property
    def is_write(self) -> bool:
        return self.need != VIEW

    @property
    def on_item(self) -> bool:
        return self.target not in ("list", "dashboard", "migration")


MATRIX = [
    Route("migrations:home", "GET", VIEW, "list"),
    # The dashboard, its CSV and the RAG help page: any signed-in user, showing only the migrations
    # they can see (an outsider gets an empty dashboard; tests/test_dashboard.py checks the rows).
    Route("migrations:dashboard", "GET", VIEW, "dashboard"),
    Route("migrations:dashboard_csv", "GET", VIEW, "dashboard"),
    Route("migrations:rag_help", "GET", VIEW, "dashboard"),
    Route("migrations:migration_detail", "GET", VIEW, "migration"),
    # The form only makes sense to someone who may change the dates, so it is refused like the change.
    Route("migrations:milestones_edit", "GET", EDIT_MILESTONES, "migration"),
    Route("migrations:milestones_edit", "POST", EDIT_MILESTONES, "migration", milestones_data, assert_go_live_moved),
    Route("migrations:item_detail", "GET", VIEW, "task"),
    Route("migrations:item_history", "GET", VIEW, "task"),
    # The note and reason forms of a checklist row, fetched when its details open.
    Route("migrations:item_forms", "GET", TICK, "task"),
    Route("migrations:item_complete", "POST", TICK, "task", no_data, assert_done),
    Route("migrations:item_reopen", "POST", TICK, "done task", revision_data(), assert_reopened),
    # Reopening a gate undoes a sign-off: only someone who may sign that gate may do it.
    Route("migrations:item_reopen", "POST", SIGN_GATES, "signed gate", revision_data(), assert_reopened),
    Route("migrations:item_reopen", "POST", SIGN_GATES, "signed clinical gate", revision_data(), assert_reopened),
    Route("migrations:item_note", "POST", TICK, "task", revision_data(note=NOTE), assert_noted),
    Route(
        "migrations:item_sign_off", "POST", SIGN_GATES, "gate", revision_data(override_reason=OVERRIDE), assert_signed
    ),
    Route(
        "migrations:item_sign_off",
        "POST",
        SIGN_GATES,
        "clinical gate",
        revision_data(override_reason=OVERRIDE),
        assert_signed,
    ),
    Route("migrations:item_not_applicable", "POST", TICK, "task", revision_data(reason=REASON), assert_not_applicable),
    Route("migrations:item_blocked", "POST", TICK, "task", revision_data(reason=REASON), assert_blocked),
    # Review a later checklist version, then apply it. The GET shows the review (or "nothing to
    # upgrade"); it is refused like the change, as only those who may apply it need it.
    Route("migrations:upgrade_review", "GET", UPGRADE_CHECKLIST, "migration"),
    Route("migrations:upgrade_review", "POST", UPGRADE_CHECKLIST, "migration", upgrade_data, assert_upgraded),
    # The history of an item an upgrade archived: readable by whoever can see the migration.
    Route("migrations:archived_item_history", "GET", VIEW, "archived task"),
]
POSTS = [route for route in MATRIX if route.method == "POST"]
ON_MIGRATION = [route for route in MATRIX if route.target not in ("list", "dashboard")]
ON_ITEM = [route for route in MATRIX if route.on_item]

# The sign-in and password pages under accounts/: who may open them.
AUTH_PUBLIC = {"login", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete"}
AUTH_SIGNED_IN = {
    "logout",
    "password_change",
    "password_change_done",
    "two_factor_manage",
    "two_factor_setup",
    "two_factor_verify",
    "two_factor_disable",
}
AUTH_KWARGS = {"password_reset_confirm": {"uidb64": "MQ", "token": "not-a-token"}}


@dataclass(frozen=True)
class PersonalRoute:
    """A URL about the person, not a migration (reminders), so not in MATRIX. `token` names the
    credential in a public URL: "unsubscribe" (signed) or "calendar" (random, revocable)."""

    name: str
    method: str
    token: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.name}"

    @property
    def public(self) -> bool:
        return bool(self.token)


# The reminder settings act on the signed-in user only, so every signed-in persona may use them (an
# outsider too); the one-click unsubscribe and the calendar feed are public, the token is the key.
PERSONAL = [
    PersonalRoute("migrations:preferences", "GET"),
    PersonalRoute("migrations:preferences", "POST"),
    PersonalRoute("migrations:calendar_link", "POST"),
    PersonalRoute("migrations:unsubscribe", "GET", token="unsubscribe"),
    PersonalRoute("migrations:unsubscribe", "POST", token="unsubscribe"),
    PersonalRoute("migrations:calendar_feed", "GET", token="calendar"),
]
PERSONAL_NAMES = {route.name for route in PERSONAL}


def url_patterns(patterns=None, namespace: str = "", prefix: str = "") -> Iterator[tuple[str, str | None, str]]:
    """(namespace, name, route) of every URL pattern, through every include()."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            nested = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from url_patterns(entry.url_patterns, nested, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield namespace, entry.name, prefix + str(entry.pattern)


def migration_url_names() -> set[str]:
    return {f"migrations:{name}" for namespace, name, _ in url_patterns() if namespace == "migrations"}


# --- helpers ------------------------------------------------------------------------------------------


@pytest.fixture
def other_migration(guide_version) -> PracticeMigration:
    """Another practice's migration, in another ICB and with another delivery partner."""
    return make_migration(template_version=guide_version)


def sign_in(client: Client, request, persona: str) -> User | None:
    if persona == "anonymous":
        return None
    user = request.getfixturevalue(persona)
    client.force_login(user)
    return user


def target_of(route: Route, migration: PracticeMigration, finisher: User) -> ChecklistItem | PracticeMigration:
    if route.target in ("list", "dashboard", "migration"):
        return migration
    key = CLINICAL_GATE_KEY if "clinical gate" in route.target else GATE_KEY if "gate" in route.target else TASK_KEY
    item = migration.items.get(key=key)
    if route.target == "done task":
        item.complete(finisher)
    elif route.target == "archived task":
        ChecklistItem.objects.filter(pk=item.pk).update(archived_at=timezone.now())
    elif route.target.startswith("signed"):
        item.sign_off(finisher, override_reason=OVERRIDE)
    return item


def url_of(route: Route, migration: PracticeMigration, item_pk: int | None = None) -> str:
    if route.target in ("list", "dashboard"):
        return reverse(route.name)
    kwargs = {"pk": migration.pk}
    if route.on_item:
        kwargs["item_pk"] = item_pk
    return reverse(route.name, kwargs=kwargs)


def send(client: Client, method: str, url: str, data: dict | None = None):
    return getattr(client, method.lower())(url, data or {})


def snapshot() -> dict:
    """Everything a request could change: milestones, every item's state, and the event log."""
    milestone_fields = [milestone.field_name for milestone in Milestone]
    return {
        "migrations": list(PracticeMigration.objects.order_by("pk").values_list("pk", *milestone_fields)),
        "items": list(
            ChecklistItem.objects.order_by("pk").values_list(
                "pk", "status", "revision", "note", "reason", "due_on", "completed_by", "override_reason"
            )
        ),
        "events": list(Event.objects.order_by("pk").values_list("pk", flat=True)),
    }


def login_url(next_url: str) -> str:
    return f"{reverse('login')}?next={next_url}"


def allowed(route: Route, persona: str) -> bool:
    if route.target.endswith("clinical gate") and persona not in CLINICAL_GATE_SIGNERS:
        return False
    return route.need in GRANTED[persona]


# --- the URLconf is covered ---------------------------------------------------------------------------


def test_every_migrations_url_pattern_is_in_the_matrix():
    covered = {route.name for route in MATRIX} | PERSONAL_NAMES
    uncovered = migration_url_names() - covered
    stale = covered - migration_url_names()

    assert not uncovered, f"URL patterns missing from the access matrix: {sorted(map(str, uncovered))}"
    assert not stale, f"Matrix rows for URL names that no longer exist: {sorted(stale)}"


def test_every_accounts_url_pattern_is_classified():
    names = {name for namespace, name, route in url_patterns() if route.startswith("accounts/")}

    assert names == AUTH_PUBLIC | AUTH_SIGNED_IN


def test_the_url_walk_finds_the_app_and_the_sign_in_pages():
    # Guards the walk itself: if it stopped descending into include(), the checks above would pass on nothing.
    assert "migrations:item_sign_off" in migration_url_names()
    assert ("", "login", "accounts/login/") in set(url_patterns())


# --- every route, every persona -----------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", MATRIX, ids=str)
def test_access_matrix(route, persona, request, client, migration, delivery_partner_user):
    user = sign_in(client, request, persona)
    target = target_of(route, migration, finisher=delivery_partner_user)
    url = url_of(route, migration, target.pk)
    data = route.data(target, migration)
    before = snapshot()

    response = send(client, route.method, url, data)

    detail_url = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    if persona == "anonymous":
        assert response.status_code == 302
        assert response.url == login_url(url)
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
    elif route.target == "dashboard":
        assert response.status_code == 200
    elif persona in SEES_NOTHING:
        assert response.status_code == 404
    elif not allowed(route, persona):
        assert response.status_code == 403
    elif route.method == "GET":
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.url == detail_url + (f"#item-{target.pk}" if route.on_item else "")
        target.refresh_from_db()
        migration.refresh_from_db()
        route.saved(target, migration, user)
        return
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["practice_manager", "practice_staff", "clinical_lead", "delivery_partner_user"])
@pytest.mark.parametrize("gate_key", [GATE_KEY, CLINICAL_GATE_KEY])
def test_marking_a_gate_not_applicable_needs_the_right_to_sign_it(gate_key, persona, request, client, migration):
    # Not applicable closes a gate as surely as a sign-off does (its phase counts it as finished), and
    # reopening a gate already needs the right to sign it.
    sign_off = next(route for route in MATRIX if route.name == "migrations:item_sign_off")
    may_sign = allowed(sign_off, persona) and (gate_key != CLINICAL_GATE_KEY or persona in CLINICAL_GATE_SIGNERS)
    sign_in(client, request, persona)
    gate = migration.items.get(key=gate_key)
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
    milestones = next(
        route for route in MATRIX if route.name == "migrations:milestones_edit" and route.method == "POST"
    )
    complete = next(route for route in MATRIX if route.name == "migrations:item_complete")

    assert not allowed(sign_clinical, "practice_manager")
    assert not allowed(sign_clinical, "delivery_partner_user")
    assert allowed(sign_clinical, "clinical_lead") and allowed(sign_clinical, "admin_user")
    assert all(allowed(sign_other, persona) for persona in GRANTED if GRANTED[persona] == EDITOR)
    assert not allowed(milestones, "practice_staff") and not allowed(sign_other, "practice_staff")
    assert allowed(complete, "practice_staff")
    assert not any(allowed(route, "icb_user") for route in MATRIX if route.is_write)
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

    assert dashboard.status_code == 200
    assert migration.practice.name not in dashboard.content.decode()
    assert csv_practices(client) == set()
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


# --- methods: every POST view refuses GET, and no GET changes anything --------------------------------


@pytest.mark.parametrize("name", sorted(migration_url_names() - PERSONAL_NAMES))
def test_undeclared_methods_get_405_and_change_nothing(name, client, migration, clinical_lead):
    client.force_login(clinical_lead)
    declared = [route for route in MATRIX if route.name == name]
    route = declared[0]
    target = target_of(route, migration, finisher=clinical_lead)
    url = url_of(route, migration, target.pk)
    before = snapshot()

    refused = {
        method: send(client, method, url, route.data(target, migration)).status_code
        for method in ("GET", "POST", "PUT", "DELETE")
        if method not in {route.method for route in declared}
    }

    assert refused and set(refused.values()) == {405}, refused
    assert snapshot() == before


@pytest.mark.parametrize("route", [route for route in MATRIX if route.method == "GET"], ids=str)
def test_get_changes_nothing_even_for_an_admin(route, client, migration, admin_user):
    client.force_login(admin_user)
    target = target_of(route, migration, finisher=admin_user)
    url = url_of(route, migration, target.pk)
    before = snapshot()

    response = client.get(url, {"confirm": "yes", "note": NOTE, "reason": REASON})

    # Staff land on the dashboard from the home page.
    assert response.status_code == (302 if route.name == "migrations:home" else 200)
    assert snapshot() == before


# --- CSRF ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", POSTS, ids=str)
def test_post_without_csrf_token_gets_403_and_changes_nothing(route, request, migration):
    # The clinical lead may make every POST but the checklist upgrade, which is the delivery partner's.
    user = request.getfixturevalue("clinical_lead" if allowed(route, "clinical_lead") else "delivery_partner_user")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    target = target_of(route, migration, finisher=user)
    url = url_of(route, migration, target.pk)
    before = snapshot()

    refused = csrf_client.post(url, route.data(target, migration))

    assert refused.status_code == 403
    assert snapshot() == before
    # The same request with the token from a page is accepted: the 403 above was the CSRF check.
    csrf_client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}))
    token = csrf_client.cookies["csrftoken"].value
    accepted = csrf_client.post(url, route.data(target, migration) | {"csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert snapshot() != before


# --- 404: unknown items, items of another migration, another practice's migration ---------------------


@pytest.mark.parametrize("route", ON_ITEM, ids=str)
def test_unknown_item_gets_404(route, client, migration, clinical_lead, admin_user):
    target = target_of(route, migration, finisher=clinical_lead)
    missing_pk = ChecklistItem.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    url = url_of(route, migration, missing_pk)
    before = snapshot()

    statuses = {}
    for user in (clinical_lead, admin_user):
        client.force_login(user)
        statuses[user.email] = send(client, route.method, url, route.data(target, migration)).status_code

    assert statuses == {clinical_lead.email: 404, admin_user.email: 404}
    assert snapshot() == before


@pytest.mark.parametrize("route", ON_ITEM, ids=str)
def test_item_of_another_migration_under_this_migrations_pk_gets_404(
    route, client, migration, other_migration, clinical_lead, admin_user
):
    # The admin can see both migrations: only the item-belongs-to-migration check stands in the way.
    foreign_item = target_of(route, other_migration, finisher=admin_user)
    url = url_of(route, migration, foreign_item.pk)
    before = snapshot()

    statuses = {}
    for user in (clinical_lead, admin_user):
        client.force_login(user)
        statuses[user.email] = send(client, route.method, url, route.data(foreign_item, other_migration)).status_code

    assert statuses == {clinical_lead.email: 404, admin_user.email: 404}
    assert snapshot() == before


@pytest.mark.parametrize("route", ON_MIGRATION, ids=str)
def test_another_practices_migration_gets_404(route, request, client, migration, other_migration):
    target = target_of(route, other_migration, finisher=request.getfixturevalue("admin_user"))
    url = url_of(route, other_migration, target.pk)
    before = snapshot()

    statuses = {}
    for persona in MEMBERS:
        sign_in(client, request, persona)
        statuses[persona] = send(client, route.method, url, route.data(target, other_migration)).status_code

    assert statuses == dict.fromkeys(MEMBERS, 404)
    assert snapshot() == before


# --- the sign-in and password pages -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AUTH_PUBLIC | AUTH_SIGNED_IN))
def test_accounts_pages_are_public_or_send_anonymous_users_to_sign_in(name, client):
    url = reverse(name, kwargs=AUTH_KWARGS.get(name))

    response = client.get(url)

    if name in AUTH_PUBLIC:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.url == login_url(url)


# --- personal pages: reminder settings, one-click unsubscribe, calendar feed ---------------------------


def personal_url(route: PersonalRoute, owner: User) -> str:
    """The route's URL; a public one carries `owner`'s token."""
    if route.token == "unsubscribe":
        return reverse(route.name, kwargs={"token": reminder_emails.unsubscribe_token(owner)})
    if route.token == "calendar":
        preference, _ = ReminderPreference.objects.get_or_create(user=owner)
        preference.new_calendar_token()
        return reverse(route.name, kwargs={"token": preference.calendar_token})
    return reverse(route.name)


def preferences_of(user: User) -> tuple:
    preference = ReminderPreference.objects.filter(user=user).first()
    if preference is None:
        return ()
    return (
        preference.frequency,
        preference.first_lead_days,
        preference.unsubscribed_at is not None,
        preference.calendar_token,
    )


PREFERENCES_DATA = {"frequency": "weekly", "first_lead_days": "5", "second_lead_days": "2"}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", PERSONAL, ids=str)
def test_personal_pages(route, persona, request, client, practice_manager):
    user = sign_in(client, request, persona)
    # A public URL's token is the credential whoever follows it: the anonymous visitor uses the
    # practice manager's, as a mail client posting the one-click unsubscribe would.
    owner = user or practice_manager
    url = personal_url(route, owner)
    before = preferences_of(owner)

    response = send(client, route.method, url, PREFERENCES_DATA if route.method == "POST" else {})

    owner.refresh_from_db()
    if persona == "anonymous" and not route.public:
        assert response.status_code == 302
        assert response.url == login_url(url)
        assert preferences_of(owner) == before
    elif route.name == "migrations:preferences" and route.method == "POST":
        assert response.status_code == 302
        assert preferences_of(owner)[:3] == ("weekly", 5, False)
    elif route.name == "migrations:calendar_link":
        assert response.status_code == 302
        assert preferences_of(owner)[3] not in (None, before[3] if before else None)
    elif route.name == "migrations:unsubscribe" and route.method == "POST":
        assert response.status_code == 200
        assert preferences_of(owner)[2] is True
    else:
        assert response.status_code == 200
        assert preferences_of(owner) == before
        if route.name == "migrations:calendar_feed":
            assert response["Content-Type"] == "text/calendar; charset=utf-8"


@pytest.mark.parametrize("route", [route for route in PERSONAL if route.public], ids=str)
def test_public_personal_pages_with_a_wrong_token_get_404(route, client, practice_manager):
    good = personal_url(route, practice_manager)
    wrong = [
        good.replace(good.rstrip("/").rsplit("/", 1)[1][:8], "AAAAAAAA"),
        reverse(route.name, kwargs={"token": reminder_emails.unsubscribe_token(practice_manager) + "x"}),
    ]
    before = preferences_of(practice_manager)

    statuses = {url: send(client, route.method, url).status_code for url in wrong}

    assert set(statuses.values()) == {404}, statuses
    assert preferences_of(practice_manager) == before


def test_a_new_calendar_link_stops_the_old_one(client, practice_manager):
    old_url = personal_url(PERSONAL[-1], practice_manager)
    client.force_login(practice_manager)

    client.post(reverse("migrations:calendar_link"), {"action": "new"})
    turned_off = client.post(reverse("migrations:calendar_link"), {"action": "turn_off"})

    assert turned_off.status_code == 302
    assert Client().get(old_url).status_code == 404
    assert preferences_of(practice_manager)[3] is None


@pytest.mark.parametrize("name", sorted(PERSONAL_NAMES))
def test_undeclared_methods_on_personal_pages_get_405_and_change_nothing(name, client, practice_manager):
    client.force_login(practice_manager)
    declared = {route.method for route in PERSONAL if route.name == name}
    url = personal_url(next(route for route in PERSONAL if route.name == name), practice_manager)
    before = preferences_of(practice_manager)

    refused = {
        method: send(client, method, url, PREFERENCES_DATA).status_code
        for method in ("GET", "POST", "PUT", "DELETE")
        if method not in declared
    }

    assert refused and set(refused.values()) == {405}, refused
    assert preferences_of(practice_manager) == before


@pytest.mark.parametrize("route", [route for route in PERSONAL if route.method == "POST"], ids=str)
def test_personal_posts_need_a_csrf_token_except_the_one_click_unsubscribe(route, practice_manager):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(practice_manager)
    url = personal_url(route, practice_manager)
    before = preferences_of(practice_manager)

    response = csrf_client.post(url, PREFERENCES_DATA | {"List-Unsubscribe": "One-Click"})

    if route.public:
        # RFC 8058: the mail client posts without a session or a form; the signed token is the key.
        assert response.status_code == 200
        assert preferences_of(practice_manager)[2] is True
    else:
        assert response.status_code == 403
        assert preferences_of(practice_manager) == before
