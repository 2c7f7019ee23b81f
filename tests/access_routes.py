"""Every URL of the app and who may use it, written out from the rules (STYLE.md, Access) rather
than read from access.py, so that a change of the rules there shows up as a failure in the access
tests; and how those tests call a route, as a persona, on the demo migration.

test_access_matrix.py checks the table against the URLconf itself, so a new view cannot be added
without saying who may use it, then every route for every persona; test_access_refusals.py the
methods, CSRF and 404s; test_access_personal_pages.py the sign-in pages and a person's own pages.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from migrations_app.checklist_templates import guide_file as loader
from migrations_app.checklist_templates import publishing
from migrations_app.models import (
    ChecklistItem,
    Event,
    ItemStatus,
    Milestone,
    PracticeMigration,
    TemplateVersion,
    User,
)
from tests.factories import GO_LIVE_ON, MILESTONE_DATES

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
    publishing.publish(version, "Revised wording")
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
    # they can see (an outsider gets an empty dashboard; tests/test_dashboard_access.py checks the rows).
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


# --- calling a route ----------------------------------------------------------------------------------


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


def sign_in_redirect(method: str, url: str) -> str:
    """Where an anonymous request is sent: the sign-in, then back to a page it asked for. A POST
    is not replayed, so it comes back to the page it was sent from (none here: no Referer)."""
    return login_url(url) if method == "GET" else reverse("login")


def allowed(route: Route, persona: str) -> bool:
    if route.target.endswith("clinical gate") and persona not in CLINICAL_GATE_SIGNERS:
        return False
    return route.need in GRANTED[persona]
