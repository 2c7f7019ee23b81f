"""Every URL of the app and who may use it, written out from the rules (STYLE.md, Access) rather
than read from `migrations_app/access/`, so that a change of the rules there shows up as a failure
in the access tests; and how those tests call a route, as a persona, on the demo migration.

test_access_matrix.py checks the table against the URLconf itself, so a new view cannot be added
without saying who may use it, then every route for every persona; test_access_refusals.py the
methods, CSRF and 404s; test_access_personal_pages.py the sign-in pages and a person's own pages.
"""

import csv
import io
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
    Invitation,
    ItemKind,
    ItemStatus,
    Membership,
    MigrationImport,
    Milestone,
    Practice,
    PracticeMigration,
    Retrospective,
    Role,
    TemplateVersion,
    User,
)
from tests.factories import GO_LIVE_ON, MILESTONE_DATES, MembershipFactory, UserFactory, make_invitation

# --- permissions, written out from the rules --------------------------------------------------------

VIEW = "view"
TICK = "tick"  # mark done, reopen, not applicable, blocked, notes
EDIT_MILESTONES = "edit_milestones"
SIGN_GATES = "sign_gates"
ASSIGN_OWNERS = "assign_owners"  # name an item's owner
EDITOR = {VIEW, TICK, EDIT_MILESTONES, SIGN_GATES, ASSIGN_OWNERS}
# Moving a checklist to a later template version: the delivery partner runs the project plan and
# admins maintain the templates; practice users work the checklist they are given.
UPGRADE_CHECKLIST = "upgrade_checklist"
CHANGE_MIGRATION_STATUS = "change_migration_status"  # hold, resume, cancel
INVITE_TO_PRACTICE = "invite_to_practice"  # invite people to the practice, resend, cancel, remove them
START_MIGRATIONS = "start_migrations"  # start a migration, import an order tracker
GIVE_CHECK_IN = "give_check_in"  # give a weekly check-in: one's own side (a support admin either)
# After go-live: the practice manager writes the practice's retrospective, the delivery partner (and
# support admins, acting for it) its own.
WRITE_RETROSPECTIVE = "write_retrospective"
# The Lessons page and its CSV: people who look across practices (DASHBOARD_PERSONAS); a read, not a write.
READ_LESSONS = "read_lessons"
# The dashboard and its CSV: anyone who reads a migration; someone who reads none (SEES_NOTHING) gets a 403.
READ_DASHBOARD = "read_dashboard"

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
    "practice_manager": EDITOR | {INVITE_TO_PRACTICE, WRITE_RETROSPECTIVE, GIVE_CHECK_IN},
    "clinical_lead": EDITOR,
    "delivery_partner_user": EDITOR
    | {
        UPGRADE_CHECKLIST,
        CHANGE_MIGRATION_STATUS,
        INVITE_TO_PRACTICE,
        START_MIGRATIONS,
        WRITE_RETROSPECTIVE,
        GIVE_CHECK_IN,
    },
    "admin_user": EDITOR
    | {
        UPGRADE_CHECKLIST,
        CHANGE_MIGRATION_STATUS,
        INVITE_TO_PRACTICE,
        START_MIGRATIONS,
        WRITE_RETROSPECTIVE,
        GIVE_CHECK_IN,
    },
    "support_admin": EDITOR
    | {
        UPGRADE_CHECKLIST,
        CHANGE_MIGRATION_STATUS,
        INVITE_TO_PRACTICE,
        START_MIGRATIONS,
        WRITE_RETROSPECTIVE,
        GIVE_CHECK_IN,
    },
    "practice_staff": {VIEW, TICK},
    # On the ICB's items only (ICB_ITEMS): it reads everything else.
    "icb_user": {VIEW, TICK, SIGN_GATES},
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
# A gate is signed (reopened, marked not applicable) by the role the guide data names as its signer,
# and by those who act on every migration: the practice manager signs the practice's gates, the lead
# clinician the data-checking sign-off, the ICB lead the ICB's approvals. Nobody else, the delivery
# partner included.
ACTS_ON_EVERY_MIGRATION = {"admin_user", "support_admin"}
GATE_SIGNERS = {
    "gate": {"practice_manager"} | ACTS_ON_EVERY_MIGRATION,
    "clinical gate": {"clinical_lead"} | ACTS_ON_EVERY_MIGRATION,
    "icb gate": {"icb_user"} | ACTS_ON_EVERY_MIGRATION,
}
CLINICAL_GATE_SIGNERS = GATE_SIGNERS["clinical gate"]
# The ICB lead ticks and signs the items the guide gives the ICB, and only those: any other item's
# change is a 403 to it. Every other role that may tick ticks any item, the ICB's included.
ICB_ITEMS = {"icb task", "done icb task", "icb gate", "signed icb gate"}
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
ICB_GATE_KEY = "icb-business-case-funding-approved"  # a gate for the ICB lead
# The ICB's task is its first open one in the guide (icb_task), whatever its key.
GATE_KEYS = {"gate": GATE_KEY, "clinical gate": CLINICAL_GATE_KEY, "icb gate": ICB_GATE_KEY}

NOTE = "Rang the new supplier about the extract"
REASON = "The practice does not use this service"
OVERRIDE = "Agreed at the project board on 1 April"
NEW_GO_LIVE_ON = GO_LIVE_ON + timedelta(days=7)
# Route targets that are the migration itself rather than one of its items.
MIGRATION_TARGETS = ("migration", "held migration")
# The API's routes that are pages for a person rather than answers for a program.
API_PAGES = {"api:docs"}
# Route targets that are the practice's people: a pending invitation to it, a member of it.
PEOPLE_TARGETS = ("invitation", "member")


# --- what each route sends, and the change an allowed POST must make --------------------------------


def no_data(target, migration: PracticeMigration) -> dict:
    return {}


def check_in_data(target, migration: PracticeMigration) -> dict:
    """A check-in; the side is asked of a support admin only (anyone else gives their own)."""
    return {"side": "practice", "rag": "amber", "note": NOTE}


def assert_checked_in(target, migration: PracticeMigration, user: User) -> None:
    assert migration.check_ins.filter(given_by=user, rag="amber", note=NOTE).count() == 1


def revision_data(**fields) -> Callable[[ChecklistItem, PracticeMigration], dict]:
    def build(item: ChecklistItem, migration: PracticeMigration) -> dict:
        return {"revision": item.revision, **fields}

    return build


def action_data(action: str, **fields) -> Callable[[ChecklistItem, PracticeMigration], dict]:
    """The API's body for an item's action (api/items.py): the action, the item's revision, its fields."""

    def build(item: ChecklistItem, migration: PracticeMigration) -> dict:
        return {"action": action, "revision": item.revision, **fields}

    return build


def milestones_json(item, migration: PracticeMigration) -> dict:
    """The API's body for a change of milestones: go-live a week later, saved."""
    return {"milestones": {"go_live_on": NEW_GO_LIVE_ON.isoformat()}, "reason": "Supplier moved the date"}


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


def conditions_data(item, migration: PracticeMigration) -> dict:
    return {"conditions": ["new_hardware_needed"], "reason": "The survey found old card readers"}


def assert_conditions_changed(item, migration: PracticeMigration, user: User) -> None:
    assert migration.new_hardware_needed is True
    assert Event.objects.filter(
        migration=migration, kind=Event.Kind.ATTRIBUTE, field="new_hardware_needed", actor=user
    ).exists()


def assert_go_live_moved(item, migration: PracticeMigration, user: User) -> None:
    assert migration.go_live_on == NEW_GO_LIVE_ON
    assert Event.objects.filter(migration=migration, kind=Event.Kind.MILESTONE, field="go_live_on", actor=user).exists()


DUE_DATE_REASON = "The supplier can only do this a week later"


def due_date_data(item: ChecklistItem, migration: PracticeMigration) -> dict:
    """The item's due date set by hand to a week after the one it has."""
    due_on = item.due_on + timedelta(days=7)
    return {
        "revision": item.revision,
        "due_on-day": str(due_on.day),
        "due_on-month": str(due_on.month),
        "due_on-year": str(due_on.year),
        "reason": DUE_DATE_REASON,
    }


def assert_due_date_set(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.manual_due_on is not None
    assert item.due_on == item.manual_due_on
    assert Event.objects.filter(item=item, kind=Event.Kind.DUE_DATE, reason=DUE_DATE_REASON, actor=user).exists()


def partner_manager_of(migration: PracticeMigration) -> Membership | None:
    """The practice's delivery-partner project manager (the demo migration's maker, in every test)."""
    return Membership.objects.filter(
        role=Role.DELIVERY_PARTNER, delivery_partner_id=migration.practice.delivery_partner_id
    ).first()


def owner_data(item: ChecklistItem, migration: PracticeMigration) -> dict:
    """The item handed to the delivery partner's project manager: a change whoever sends it (the
    demo's items have no owner), and nothing made in the database to build the request."""
    manager = partner_manager_of(migration)
    return {"revision": item.revision, "owner": manager.user_id if manager else ""}


def assert_owned(item: ChecklistItem, migration: PracticeMigration, user: User) -> None:
    assert item.owner_id == partner_manager_of(migration).user_id
    assert Event.objects.filter(item=item, kind=Event.Kind.OWNER, field="owner", actor=user).exists()


HOLD_REASON = "Waiting for the new supplier to agree a go-live date"
CANCEL_REASON = "The practice merged with its neighbour"


def reason_data(reason: str) -> Callable[[PracticeMigration, PracticeMigration], dict]:
    def build(target, migration: PracticeMigration) -> dict:
        return {"reason": reason}

    return build


def assert_status_changed(migration: PracticeMigration, user: User, old: str, new: str) -> None:
    assert migration.status == new
    assert Event.objects.filter(
        migration=migration, item=None, kind=Event.Kind.MIGRATION_STATUS, old_value=old, new_value=new, actor=user
    ).exists()


def assert_held(target, migration: PracticeMigration, user: User) -> None:
    assert_status_changed(migration, user, PracticeMigration.Status.ACTIVE, PracticeMigration.Status.ON_HOLD)
    assert migration.status_reason == HOLD_REASON


def assert_resumed(target, migration: PracticeMigration, user: User) -> None:
    """Resumed with go-live a week later: the items anchored to it replanned."""
    assert_status_changed(migration, user, PracticeMigration.Status.ON_HOLD, PracticeMigration.Status.ACTIVE)
    assert migration.go_live_on == NEW_GO_LIVE_ON
    assert Event.objects.filter(migration=migration, kind=Event.Kind.REPLAN, actor=user).exists()


def assert_cancelled(target, migration: PracticeMigration, user: User) -> None:
    assert_status_changed(migration, user, PracticeMigration.Status.ACTIVE, PracticeMigration.Status.CANCELLED)
    assert migration.status_reason == CANCEL_REASON
    assert migration.finished_at is not None


INVITEE_EMAIL = "new.colleague@example.nhs.uk"


def invite_data(target, migration: PracticeMigration) -> dict:
    return {"email": INVITEE_EMAIL, "role": Role.CLINICAL_LEAD}


def people_event_by(user: User, migration: PracticeMigration, field: str) -> bool:
    return Event.objects.filter(practice=migration.practice, kind=Event.Kind.PEOPLE, field=field, actor=user).exists()


def assert_invited(target, migration: PracticeMigration, user: User) -> None:
    invitation = Invitation.objects.pending().get(email=INVITEE_EMAIL, practice=migration.practice)
    assert (invitation.role, invitation.invited_by) == (Role.CLINICAL_LEAD, user)
    assert people_event_by(user, migration, "invitation")


def assert_resent(invitation: Invitation, migration: PracticeMigration, user: User) -> None:
    assert invitation.sent_at > invitation.created_at
    assert people_event_by(user, migration, "invitation")


def assert_invitation_cancelled(invitation: Invitation, migration: PracticeMigration, user: User) -> None:
    assert invitation.cancelled_by == user
    assert people_event_by(user, migration, "invitation")


def role_data(target, migration: PracticeMigration) -> dict:
    return {"role": Role.CLINICAL_LEAD}


def assert_role_changed(member: User, migration: PracticeMigration, user: User) -> None:
    assert Membership.objects.get(user=member, practice=migration.practice).role == Role.CLINICAL_LEAD
    assert people_event_by(user, migration, "membership")


def assert_removed(member: User, migration: PracticeMigration, user: User) -> None:
    assert not Membership.objects.filter(user=member, practice=migration.practice).exists()
    assert people_event_by(user, migration, "membership")


# Starting migrations: a practice new to the tracker, in the demo practice's ICB.
NEW_PRACTICE_ODS = "K82001"
# An order tracker's route target: an upload made by the persona (its delivery partner's colleagues may open it;
# anyone else gets a 404, tests/test_import.py).
IMPORT_TARGET = "own import"


def start_data(target, migration: PracticeMigration) -> dict:
    """The start form for a new practice (given the demo's delivery partner where one is chosen)."""
    order = MILESTONE_DATES["order_accepted_on"]
    return {
        "practice": "new",
        "new_name": "New Road Surgery",
        "new_ods_code": NEW_PRACTICE_ODS,
        "new_icb": migration.practice.icb_id,
        "new_delivery_partner": migration.practice.delivery_partner_id,
        "source_supplier": migration.source_supplier_id,
        "target_supplier": migration.target_supplier_id,
        "order_accepted-day": order.day,
        "order_accepted-month": order.month,
        "order_accepted-year": order.year,
    }


def assert_started(target, migration: PracticeMigration, user: User) -> None:
    started = PracticeMigration.objects.get(practice__ods_code=NEW_PRACTICE_ODS)
    assert started.created_by == user
    assert started.practice.delivery_partner_id == migration.practice.delivery_partner_id
    assert started.items.exists()


def tracker_csv(migration: PracticeMigration) -> bytes:
    """An order tracker with one row: the demo migration, go-live a week later."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["ODS code", "Practice name", "ICB code", "Current system", "New system", "Order date", "Go-live"])
    practice = migration.practice
    writer.writerow(
        [
            practice.ods_code,
            practice.name,
            practice.icb.code,
            migration.source_supplier.system_name,
            migration.target_supplier.system_name,
            migration.order_accepted_on.isoformat(),
            NEW_GO_LIVE_ON.isoformat(),
        ]
    )
    return text.getvalue().encode()


def upload_data(target, migration: PracticeMigration) -> dict:
    upload = io.BytesIO(tracker_csv(migration))
    upload.name = "orders.csv"
    return {"file": upload, "delivery_partner": migration.practice.delivery_partner_id}


def assert_uploaded(target, migration: PracticeMigration, user: User) -> None:
    assert MigrationImport.objects.get(uploaded_by=user).applied_at is None


def assert_imported(upload: MigrationImport, migration: PracticeMigration, user: User) -> None:
    assert upload.applied_by == user
    assert_go_live_moved(upload, migration, user)


RETROSPECTIVE_LESSON = "Book the data-checking clinicians before IDP"


def retrospective_data(target, migration: PracticeMigration) -> dict:
    """Every area went well, and a lesson (the demo migration went live on GO_LIVE_ON, in the past)."""
    return {"lesson": RETROSPECTIVE_LESSON, **dict.fromkeys(Retrospective.Area.values, "went_well")}


def assert_retrospective_written(target, migration: PracticeMigration, user: User) -> None:
    written = Retrospective.objects.get(migration=migration)
    assert (written.written_by, written.lesson) == (user, RETROSPECTIVE_LESSON)
    assert Event.objects.filter(migration=migration, kind=Event.Kind.RETROSPECTIVE, actor=user).exists()


# --- the matrix ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern and method: what it needs and what it acts on.

    target: "list" (no kwargs, the landing page), "dashboard" (no kwargs, the dashboard pages),
    "migration" (pk), "held migration" (pk, the migration put on hold first, for a resume),
    "task" / "done task" (pk and an ordinary task item, done first for a reopen),
    "invitation" (pk and a pending invitation to its practice), "member" (pk and a practice staff
    membership of its practice; the target is the member),
    "gate" / "clinical gate" / "icb gate" (pk and that gate item), "signed ..." (the gate, signed off
    first for a reopen), "icb task" / "done icb task" (an ICB lead's task), "archived task" (the task,
    archived as an upgrade archives it),
    "own import" (an order tracker the persona uploaded; the dashboard's no-kwargs pages for the rest of
    starting migrations).
    An allowed POST redirects to the migration's page (at the item), or, `lands_on_item`, to the item's.
    """

    name: str
    method: str
    need: str
    target: str
    data: Callable = no_data
    saved: Callable | None = field(default=None, compare=False)
    lands_on_item: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.name}" + (f" ({self.target})" if self.target != "task" and self.on_item else "")

    @property
    def is_write(self) -> bool:
        return self.need not in (VIEW, READ_LESSONS, READ_DASHBOARD)

    @property
    def on_item(self) -> bool:
        return self.target not in ("list", "dashboard", IMPORT_TARGET, *MIGRATION_TARGETS, *PEOPLE_TARGETS)

    @property
    def is_api(self) -> bool:
        """Answered by the API (JSON, problem details), not a page: nobody signed in gets a 401
        problem rather than the sign-in page. The API's documentation is a page."""
        return self.name.startswith("api:") and self.name not in API_PAGES

    @property
    def per_migration(self) -> bool:
        """About one migration (or its item or practice): an outsider is told it does not exist."""
        return self.target not in ("list", "dashboard", IMPORT_TARGET)


MATRIX = [
    Route("migrations:home", "GET", VIEW, "list"),
    # The dashboard and its CSV: anyone who reads a migration, showing only the migrations they can
    # see (tests/test_dashboard_access.py checks the rows); an outsider or a template editor gets a
    # 403 that says why. The RAG help page: any signed-in user.
    Route("migrations:dashboard", "GET", READ_DASHBOARD, "dashboard"),
    Route("migrations:dashboard_csv", "GET", READ_DASHBOARD, "dashboard"),
    Route("migrations:rag_help", "GET", VIEW, "dashboard"),
    Route("migrations:migration_detail", "GET", VIEW, "migration"),
    # The migration's record, a printable page and the same as a PDF: whoever can read the migration.
    Route("migrations:migration_record", "GET", VIEW, "migration"),
    Route("migrations:migration_record_pdf", "GET", VIEW, "migration"),
    # Weekly check-ins: whoever reads the migration reads them; the practice manager and the delivery
    # partner's project manager each give their own side, support admins either.
    Route("migrations:migration_check_ins", "GET", VIEW, "migration"),
    Route("migrations:migration_check_ins", "POST", GIVE_CHECK_IN, "migration", check_in_data, assert_checked_in),
    # After go-live, each side's retrospective (access.retrospective_side): the form is refused like the change.
    Route("migrations:retrospective", "GET", WRITE_RETROSPECTIVE, "migration"),
    Route(
        "migrations:retrospective",
        "POST",
        WRITE_RETROSPECTIVE,
        "migration",
        retrospective_data,
        assert_retrospective_written,
    ),
    # The lessons across the migrations a person can see, and their CSV: for those who look across
    # practices; practice users, outsiders and template editors get a 403.
    Route("migrations:lessons", "GET", READ_LESSONS, "dashboard"),
    Route("migrations:lessons_csv", "GET", READ_LESSONS, "dashboard"),
    # The form only makes sense to someone who may change the dates, so it is refused like the change.
    Route("migrations:milestones_edit", "GET", EDIT_MILESTONES, "migration"),
    Route("migrations:milestones_edit", "POST", EDIT_MILESTONES, "migration", milestones_data, assert_go_live_moved),
    # The practice's conditions are part of the plan: whoever may change its dates.
    Route("migrations:conditions_edit", "GET", EDIT_MILESTONES, "migration"),
    Route(
        "migrations:conditions_edit", "POST", EDIT_MILESTONES, "migration", conditions_data, assert_conditions_changed
    ),
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
    # The ICB's items: its lead works on them as a practice's people work on theirs (ICB_ITEMS).
    Route("migrations:item_forms", "GET", TICK, "icb task"),
    Route("migrations:item_complete", "POST", TICK, "icb task", no_data, assert_done),
    Route("migrations:item_reopen", "POST", TICK, "done icb task", revision_data(), assert_reopened),
    Route("migrations:item_note", "POST", TICK, "icb task", revision_data(note=NOTE), assert_noted),
    Route(
        "migrations:item_not_applicable", "POST", TICK, "icb task", revision_data(reason=REASON), assert_not_applicable
    ),
    Route("migrations:item_blocked", "POST", TICK, "icb task", revision_data(reason=REASON), assert_blocked),
    Route(
        "migrations:item_sign_off",
        "POST",
        SIGN_GATES,
        "icb gate",
        revision_data(override_reason=OVERRIDE),
        assert_signed,
    ),
    Route("migrations:item_reopen", "POST", SIGN_GATES, "signed icb gate", revision_data(), assert_reopened),
    # Naming an item's owner: back to the item's page, where the form is.
    Route("migrations:item_owner", "POST", ASSIGN_OWNERS, "task", owner_data, assert_owned, lands_on_item=True),
    # An item's own due date, set by hand: part of the plan, so whoever may change its dates. Back to the item's page.
    Route(
        "migrations:item_due_date",
        "POST",
        EDIT_MILESTONES,
        "task",
        due_date_data,
        assert_due_date_set,
        lands_on_item=True,
    ),
    # Review a later checklist version, then apply it. The GET shows the review (or "nothing to
    # upgrade"); it is refused like the change, as only those who may apply it need it.
    # The migration's status: on hold (with a reason), resumed (its dates previewed, then moved: go-live
    # a week later here), cancelled for good. The forms are refused like the changes.
    Route("migrations:migration_hold", "GET", CHANGE_MIGRATION_STATUS, "migration"),
    Route(
        "migrations:migration_hold",
        "POST",
        CHANGE_MIGRATION_STATUS,
        "migration",
        reason_data(HOLD_REASON),
        assert_held,
    ),
    Route("migrations:migration_resume", "GET", CHANGE_MIGRATION_STATUS, "held migration"),
    Route(
        "migrations:migration_resume",
        "POST",
        CHANGE_MIGRATION_STATUS,
        "held migration",
        milestones_data,
        assert_resumed,
    ),
    Route("migrations:migration_cancel", "GET", CHANGE_MIGRATION_STATUS, "migration"),
    Route(
        "migrations:migration_cancel",
        "POST",
        CHANGE_MIGRATION_STATUS,
        "migration",
        reason_data(CANCEL_REASON),
        assert_cancelled,
    ),
    Route("migrations:upgrade_review", "GET", UPGRADE_CHECKLIST, "migration"),
    Route("migrations:upgrade_review", "POST", UPGRADE_CHECKLIST, "migration", upgrade_data, assert_upgraded),
    # The history of an item an upgrade archived: readable by whoever can see the migration.
    Route("migrations:archived_item_history", "GET", VIEW, "archived task"),
    # The practice's people: the invite form, then the invitation; send a pending invitation again or
    # cancel it; remove a member (a confirmation page, then the removal). Each lands on the People section.
    Route("migrations:people_invite", "GET", INVITE_TO_PRACTICE, "migration"),
    Route("migrations:people_invite", "POST", INVITE_TO_PRACTICE, "migration", invite_data, assert_invited),
    Route("migrations:invitation_resend", "POST", INVITE_TO_PRACTICE, "invitation", no_data, assert_resent),
    Route(
        "migrations:invitation_cancel", "POST", INVITE_TO_PRACTICE, "invitation", no_data, assert_invitation_cancelled
    ),
    Route("migrations:invitation_cancel", "GET", INVITE_TO_PRACTICE, "invitation"),
    Route("migrations:member_remove", "GET", INVITE_TO_PRACTICE, "member"),
    Route("migrations:member_remove", "POST", INVITE_TO_PRACTICE, "member", no_data, assert_removed),
    Route("migrations:member_role", "GET", INVITE_TO_PRACTICE, "member"),
    Route("migrations:member_role", "POST", INVITE_TO_PRACTICE, "member", role_data, assert_role_changed),
    # Starting migrations (access.starter): delivery partners for their practices, support admins for
    # any. These pages are about no one migration, so everyone else gets a 403, an outsider too.
    Route("migrations:migration_start", "GET", START_MIGRATIONS, "dashboard"),
    Route("migrations:migration_start", "POST", START_MIGRATIONS, "dashboard", start_data, assert_started),
    Route("migrations:import_upload", "GET", START_MIGRATIONS, "dashboard"),
    Route("migrations:import_upload", "POST", START_MIGRATIONS, "dashboard", upload_data, assert_uploaded),
    Route("migrations:import_template_csv", "GET", START_MIGRATIONS, "dashboard"),
    Route("migrations:import_template_xlsx", "GET", START_MIGRATIONS, "dashboard"),
    # An upload's preview, and its confirmation (the demo migration's go-live a week later).
    Route("migrations:import_preview", "GET", START_MIGRATIONS, IMPORT_TARGET),
    Route("migrations:import_preview", "POST", START_MIGRATIONS, IMPORT_TARGET, no_data, assert_imported),
    # The REST API (read only for now): its schema and documentation for anyone signed in, the list
    # of the migrations they can see (the dashboard's rows: an outsider's is empty), and one of them.
    Route("api:schema", "GET", VIEW, "dashboard"),
    Route("api:docs", "GET", VIEW, "dashboard"),
    Route("api:migration_list", "GET", VIEW, "dashboard"),
    Route("api:migration_detail", "GET", VIEW, "migration"),
    # A migration's items, their changes (refused as the item pages refuse them), its milestones (changed
    # by whoever may change them on the page), its event log; the organisations a person can see (an
    # outsider's list is empty). An allowed change answers 200 with what it changed.
    Route("api:item_list", "GET", VIEW, "migration"),
    Route("api:item_detail", "GET", VIEW, "task"),
    Route("api:item_action", "POST", TICK, "task", action_data("complete"), assert_done),
    Route("api:item_action", "POST", TICK, "done task", action_data("reopen"), assert_reopened),
    Route("api:item_action", "POST", SIGN_GATES, "signed gate", action_data("reopen"), assert_reopened),
    Route("api:item_action", "POST", TICK, "task", action_data("note", note=NOTE), assert_noted),
    Route("api:item_action", "POST", TICK, "task", action_data("not-applicable", reason=REASON), assert_not_applicable),
    Route("api:item_action", "POST", TICK, "task", action_data("blocked", reason=REASON), assert_blocked),
    Route(
        "api:item_action", "POST", SIGN_GATES, "gate", action_data("sign-off", override_reason=OVERRIDE), assert_signed
    ),
    Route(
        "api:item_action",
        "POST",
        SIGN_GATES,
        "clinical gate",
        action_data("sign-off", override_reason=OVERRIDE),
        assert_signed,
    ),
    Route("api:item_action", "POST", TICK, "icb task", action_data("complete"), assert_done),
    Route(
        "api:item_action",
        "POST",
        SIGN_GATES,
        "icb gate",
        action_data("sign-off", override_reason=OVERRIDE),
        assert_signed,
    ),
    Route("api:milestones", "GET", VIEW, "migration"),
    Route("api:milestones", "PATCH", EDIT_MILESTONES, "migration", milestones_json, assert_go_live_moved),
    Route("api:event_list", "GET", VIEW, "migration"),
    Route("api:organisation_list", "GET", VIEW, "dashboard"),
]
POSTS = [route for route in MATRIX if route.method == "POST"]
ON_MIGRATION = [route for route in MATRIX if route.per_migration]
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
    """A URL about the person, not a migration (reminders, their team, an invitation to them), so
    not in MATRIX. `token` names the credential in its URL: "unsubscribe" (signed), "calendar"
    (random, revocable) or "invitation" (an invitation e-mail's link, to the person's own address);
    such a URL is public unless `signed_in`. `target` is what a team route acts on: "team
    invitation" (pending, to the demo delivery partner) or "team member" (a colleague there); or
    "own token", a personal API token of the person signed in."""

    name: str
    method: str
    token: str = ""
    target: str = ""
    signed_in: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.name}"

    @property
    def public(self) -> bool:
        return bool(self.token) and not self.signed_in

    @property
    def about_people(self) -> bool:
        """A team's page or an invitation link: tests/test_access_personal_pages.py has a test of their own."""
        return self.name.startswith(("migrations:team", "migrations:invitation"))


# The reminder settings act on the signed-in user only, for whoever has a membership (HAS_MEMBERSHIPS);
# the one-click unsubscribe and the calendar feed are public, the token is the key.
PERSONAL = [
    # A delivery partner's or an ICB's own team: its page (and invite form), send a pending invitation
    # again or cancel it, remove a colleague (a confirmation page, then the removal).
    PersonalRoute("migrations:team", "GET"),
    PersonalRoute("migrations:team", "POST"),
    PersonalRoute("migrations:team_invitation_resend", "POST", target="team invitation"),
    PersonalRoute("migrations:team_invitation_cancel", "GET", target="team invitation"),
    PersonalRoute("migrations:team_invitation_cancel", "POST", target="team invitation"),
    PersonalRoute("migrations:team_member_remove", "GET", target="team member"),
    PersonalRoute("migrations:team_member_remove", "POST", target="team member"),
    # The delivery partner's check-in day: set by whoever manages its team.
    PersonalRoute("migrations:check_in_day", "GET", target="own team"),
    PersonalRoute("migrations:check_in_day", "POST", target="own team"),
    # The link in an invitation e-mail (public: the token is the key; a new person makes their account
    # there), and accepting it with the account one is signed in to.
    PersonalRoute("migrations:invitation", "GET", token="invitation"),
    PersonalRoute("migrations:invitation", "POST", token="invitation"),
    PersonalRoute("migrations:invitation_accept", "GET", token="invitation", signed_in=True),
    PersonalRoute("migrations:invitation_accept", "POST", token="invitation", signed_in=True),
    # A person's own personal API tokens: the page (and its form, which makes one), and revoking one
    # of their own (a confirmation page, then the revocation). Anyone else's token is a 404.
    PersonalRoute("migrations:api_tokens", "GET"),
    PersonalRoute("migrations:api_tokens", "POST"),
    PersonalRoute("migrations:api_token_revoke", "GET", target="own token"),
    PersonalRoute("migrations:api_token_revoke", "POST", target="own token"),
    PersonalRoute("migrations:preferences", "GET"),
    PersonalRoute("migrations:preferences", "POST"),
    PersonalRoute("migrations:calendar_link", "POST"),
    PersonalRoute("migrations:unsubscribe", "GET", token="unsubscribe"),
    PersonalRoute("migrations:unsubscribe", "POST", token="unsubscribe"),
    PersonalRoute("migrations:calendar_feed", "GET", token="calendar"),
]
PERSONAL_NAMES = {route.name for route in PERSONAL}
# Who may manage the demo delivery partner's team (the team routes' targets): its project manager, and
# those who act on every migration. To anyone else its invitations and members are a 404.
TEAM_MANAGERS = {"delivery_partner_user", "admin_user", "support_admin"}
# Who has a team to invite a colleague to: the demo delivery partner's and ICB's members.
TEAM_MEMBERS = {"delivery_partner_user", "icb_user"}
# Reminders come through memberships (access.gets_reminders): anyone else is told on the Reminders
# page that there is nothing to remind them of, and a change to the settings or the calendar link
# is a 403. Personal API tokens read migrations (access.may_use_the_api): someone who reads none
# (SEES_NOTHING) may make none.
HAS_MEMBERSHIPS = PRACTICE_PERSONAS | TEAM_MEMBERS


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


def api_url_names() -> set[str]:
    return {f"api:{name}" for namespace, name, _ in url_patterns() if namespace == "api"}


# --- calling a route ----------------------------------------------------------------------------------


def sign_in(client: Client, request, persona: str) -> User | None:
    if persona == "anonymous":
        return None
    user = request.getfixturevalue(persona)
    client.force_login(user)
    return user


def target_of(
    route: Route, migration: PracticeMigration, finisher: User, owner: User | None = None
) -> ChecklistItem | PracticeMigration | Invitation | User | MigrationImport:
    """What `route` acts on; an upload is made by `owner` (the signed-in persona), else by `finisher`."""
    if route.target == IMPORT_TARGET:
        content = tracker_csv(migration)
        return MigrationImport.objects.create(
            uploaded_by=owner or finisher,
            delivery_partner=migration.practice.delivery_partner,
            filename="orders.csv",
            content=content,
            sha256="-",
            row_count=1,
        )
    if route.target == "held migration":
        migration.hold(finisher, HOLD_REASON)
    if route.target in ("list", "dashboard", *MIGRATION_TARGETS):
        return migration
    if route.target == "invitation":
        return make_invitation(invited_by=finisher, practice=migration.practice)
    if route.target == "member":
        member = UserFactory(email="leaving.member@example.nhs.uk", full_name="Lee Leaving")
        MembershipFactory(user=member, practice=migration.practice, role=Role.PRACTICE_STAFF)
        return member
    item = item_of(route.target, migration)
    if route.target.startswith("done"):
        item.complete(finisher)
    elif route.target == "archived task":
        ChecklistItem.objects.filter(pk=item.pk).update(archived_at=timezone.now())
    elif route.target.startswith("signed"):
        item.sign_off(finisher, override_reason=OVERRIDE)
    return item


def icb_task(migration: PracticeMigration) -> ChecklistItem:
    """The ICB lead's first open task of the migration (chosen by role, as the guide's keys change)."""
    tasks = migration.items.filter(responsible_role=Role.ICB_LEAD, kind=ItemKind.TASK, status=ItemStatus.TO_DO)
    return tasks.order_by("phase__position", "position").first()


def item_of(target: str, migration: PracticeMigration) -> ChecklistItem:
    """The item a route's target names (Route): a gate, the ICB's task, or the practice manager's task."""
    kind = target.removeprefix("signed ").removeprefix("done ").removeprefix("archived ")
    if kind in GATE_KEYS:
        return migration.items.get(key=GATE_KEYS[kind])
    return icb_task(migration) if kind == "icb task" else migration.items.get(key=TASK_KEY)


def url_of(route: Route, migration: PracticeMigration, item_pk: int | None = None) -> str:
    if route.target in ("list", "dashboard"):
        return reverse(route.name)
    if route.target == IMPORT_TARGET:
        return reverse(route.name, kwargs={"pk": item_pk})
    kwargs = {"pk": migration.pk}
    if route.on_item:
        kwargs["item_pk"] = item_pk
    elif route.target == "invitation":
        kwargs["invitation_pk"] = item_pk
    elif route.target == "member":
        kwargs["membership_pk"] = Membership.objects.get(user_id=item_pk, practice=migration.practice).pk
    return reverse(route.name, kwargs=kwargs)


def landing_url(route: Route, migration: PracticeMigration, item_pk: int | None = None) -> str:
    """Where an allowed POST of `route` redirects."""
    if route.need == START_MIGRATIONS:
        # A started migration's page; an upload's preview, and after the import its page again.
        if route.name == "migrations:migration_start":
            started = PracticeMigration.objects.get(practice__ods_code=NEW_PRACTICE_ODS)
            return reverse("migrations:migration_detail", kwargs={"pk": started.pk})
        if route.name in ("migrations:import_upload", "migrations:import_preview"):
            return reverse("migrations:import_preview", kwargs={"pk": MigrationImport.objects.latest("pk").pk})
        return reverse("migrations:dashboard")
    if route.lands_on_item:
        return reverse("migrations:item_detail", kwargs={"pk": migration.pk, "item_pk": item_pk})
    detail_url = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    if route.need == INVITE_TO_PRACTICE:
        return detail_url + "#people"
    if route.need == GIVE_CHECK_IN:
        return detail_url + "#check-ins"
    if not route.on_item:
        return detail_url
    # Back to the Open view: at the item, or at its phase once it is closed (the view no longer shows it).
    item = ChecklistItem.objects.get(pk=item_pk)
    return detail_url + (
        f"?phase={item.phase_id}#item-{item_pk}" if item.is_open else f"#phase-{item.phase_id}-heading"
    )


def send(client: Client, method: str, url: str, data: dict | None = None):
    if method != "GET" and url.startswith("/api/"):
        # The API reads JSON bodies only.
        return getattr(client, method.lower())(url, data or {}, content_type="application/json")
    return getattr(client, method.lower())(url, data or {})


def snapshot() -> dict:
    """Everything a request could change: milestones, every item's state, and the event log."""
    milestone_fields = [milestone.field_name for milestone in Milestone]
    return {
        "migrations": list(
            PracticeMigration.objects.order_by("pk").values_list("pk", "status", "status_reason", *milestone_fields)
        ),
        "items": list(
            ChecklistItem.objects.order_by("pk").values_list(
                "pk", "status", "revision", "note", "reason", "due_on", "completed_by", "override_reason", "owner"
            )
        ),
        "events": list(Event.objects.order_by("pk").values_list("pk", flat=True)),
        # Memberships are not here: the personas' own are made as the tests sign them in. Every change
        # to one writes an event.
        "invitations": list(
            Invitation.objects.order_by("pk").values_list("pk", "token_hash", "accepted_at", "cancelled_at")
        ),
        "practices": list(Practice.objects.order_by("pk").values_list("pk", flat=True)),
        "imports": list(MigrationImport.objects.order_by("pk").values_list("pk", "applied_at")),
    }


def login_url(next_url: str) -> str:
    return f"{reverse('login')}?next={next_url}"


def sign_in_redirect(method: str, url: str) -> str:
    """Where an anonymous request is sent: the sign-in, then back to a page it asked for. A POST
    is not replayed, so it comes back to the page it was sent from (none here: no Referer)."""
    return login_url(url) if method == "GET" else reverse("login")


def allowed(route: Route, persona: str) -> bool:
    if route.need == READ_LESSONS:
        return persona in DASHBOARD_PERSONAS
    if route.need == READ_DASHBOARD:
        return persona not in SEES_NOTHING and persona != "anonymous"
    gate = route.target.removeprefix("signed ")
    if route.need == SIGN_GATES and gate in GATE_SIGNERS:
        return persona in GATE_SIGNERS[gate]
    if persona == "icb_user" and route.on_item and route.is_write and route.target not in ICB_ITEMS:
        return False
    return route.need in GRANTED[persona]
