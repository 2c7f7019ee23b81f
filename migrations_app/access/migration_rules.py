"""What each role may do to one migration (`Permission`, `GRANTS`, `Access`), the one rule for
reading migrations (`visible_migrations`), and the fetch-for-user helpers the views call: a
migration or item a person cannot read is a 404, one they may read but not change is a 403."""

from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Q, QuerySet
from django.http import Http404

from migrations_app.access.relations import (
    Relations,
    memberships_at,
)
from migrations_app.access.standing import standing_of
from migrations_app.models import ChecklistItem, Membership, Practice, PracticeMigration, Role, User
from migrations_app.models.compiled import CompiledSelect
from migrations_app.models.expressions import AnyOf
from migrations_app.models.practice_migrations import UNFINISHED_STATUSES


class Permission(StrEnum):
    TICK = "tick"  # mark done, reopen, not applicable, blocked; write notes
    EDIT_MILESTONES = "edit_milestones"  # change milestone dates (replans items)
    SIGN_GATES = "sign_gates"  # sign off a gate item
    # Move the checklist to a later template version. The delivery partner runs the project plan
    # (and support admins may act for them); practice users work the checklist they are given.
    UPGRADE_CHECKLIST = "upgrade_checklist"
    # Name the person who owns an item (of those holding a role on the practice), or hand it back to the role.
    ASSIGN_OWNERS = "assign_owners"
    # Put the migration on hold, resume it, cancel it: the delivery partner runs the project.
    CHANGE_MIGRATION_STATUS = "change_migration_status"


EDITOR = frozenset({Permission.TICK, Permission.EDIT_MILESTONES, Permission.SIGN_GATES, Permission.ASSIGN_OWNERS})
GRANTS: dict[str, frozenset[Permission]] = {
    Role.PRACTICE_MANAGER: EDITOR,
    Role.CLINICAL_LEAD: EDITOR,
    Role.PRACTICE_STAFF: frozenset({Permission.TICK}),
    Role.DELIVERY_PARTNER: EDITOR | {Permission.UPGRADE_CHECKLIST, Permission.CHANGE_MIGRATION_STATUS},
    # The ICB funds and approves: it ticks and signs the items the guide gives it, and reads the rest.
    Role.ICB_LEAD: frozenset({Permission.TICK, Permission.SIGN_GATES}),
}
# Roles whose permissions on items reach only the items that are theirs: those whose responsible role
# is that role, and those the person has been named owner of (`Relations.holds`). Every other role
# ticks any item of the migration. Signing always goes by the gate's role (`Access.can_sign`).
OWN_ITEMS_ONLY: frozenset[str] = frozenset({Role.ICB_LEAD})


def responsible_name(item: ChecklistItem) -> str:
    """The holder of `item`'s responsible role (a gate's signer) as a page or a refusal names them:
    "the practice manager", "the ICB lead"."""
    return "the " + item.role_in_a_sentence


# --- reading migrations -----------------------------------------------------------------------------------


def visible_migrations(user, migrations: QuerySet[PracticeMigration] | None = None) -> QuerySet[PracticeMigration]:
    """The one rule for reading: `migrations` (all by default) narrowed to those `user` may read.
    People with the permission to read every migration read them all; everyone else reads the
    migrations of the practices they relate to through a membership: the practices they are
    members of, and those of the delivery partners and ICBs they are members of (their ids are read
    with their standing, standing_of). One query: the practices are found through their own
    indexes (PostgreSQL ORs them), then their migrations; on ten times the national data set a
    delivery partner's 700 of 70,000 took 9 ms this way, against 65 ms with the memberships as
    subqueries of the migrations' query, which PostgreSQL ran as a filter over every row. The
    practices' ids are then looked up in the migrations' index (AnyOf), not joined to every practice."""
    if migrations is None:
        migrations = PracticeMigration.objects.all()
    if not user.is_authenticated or not user.is_active:
        return migrations.none()
    standing = standing_of(user)
    if standing.reads_every_migration:
        return migrations
    if not (standing.practice_ids or standing.partner_ids or standing.icb_ids):
        return migrations.none()
    practices = Practice.objects.filter(
        Q(pk__in=sorted(standing.practice_ids))
        | Q(delivery_partner_id__in=sorted(standing.partner_ids))
        | Q(icb_id__in=sorted(standing.icb_ids))
    )
    return migrations.filter(AnyOf("practice_id", practices.values("pk")))


def visibility_key(user) -> tuple:
    """What visible_migrations(user)'s statement depends on, as a key (compiled.Remembered): two
    people with the same key read the same migrations by the same SQL."""
    if not user.is_authenticated or not user.is_active:
        return ("none",)
    standing = standing_of(user)
    if standing.reads_every_migration:
        return ("every",)
    return ("some", standing.practice_ids, standing.partner_ids, standing.icb_ids)


# --- acting on one migration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """A person's roles on one migration and what they allow."""

    roles: frozenset[str]
    acts_on_every_migration: bool = False
    # The person's memberships at the migration's practice: enough to tell which of its items are theirs.
    relations: Relations = Relations()
    # The migration's status. A finished migration (completed or cancelled) is read-only for
    # everyone, support admins and superusers too: every change to it is a 403. The one exception,
    # `can_reopen`: reopening the "migration complete" gate of a completed migration.
    status: str = PracticeMigration.Status.ACTIVE

    @property
    def is_read_only(self) -> bool:
        return self.status not in UNFINISHED_STATUSES

    @property
    def permissions(self) -> frozenset[Permission]:
        """What the person may do to this migration: what their roles (or standing) grant, and
        nothing once it is finished."""
        if self.is_read_only:
            return frozenset()
        if self.acts_on_every_migration:
            return frozenset(Permission)
        return frozenset().union(*(GRANTS[role] for role in self.roles))

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def can_sign(self, item: ChecklistItem) -> bool:
        """A gate is signed by the role the guide data names as its signer, its responsible role:
        the person holds exactly that role on the migration's practice, and the role may sign gates
        (the ICB lead signs the ICB's approvals, the practice manager the practice's go-live, the
        clinical lead the data sign-off, the delivery partner only its own). A gate of a role that
        signs nothing (practice staff) is left to those who act on every migration, who may sign
        any gate."""
        if not item.is_gate or not self.can(Permission.SIGN_GATES):
            return False
        role = item.responsible_role
        return self.acts_on_every_migration or (role in self.roles and Permission.SIGN_GATES in GRANTS[role])

    def can_work_on(self, item: ChecklistItem) -> bool:
        """Ticking `item`, writing its note and loading its forms: a role granting TICK whose reach
        covers it (`OWN_ITEMS_ONLY`: only the items of that role, and those the person owns)."""
        if not self.can(Permission.TICK):
            return False
        return self.acts_on_every_migration or any(
            Permission.TICK in GRANTS[role]
            and (role not in OWN_ITEMS_ONLY or item.responsible_role == role or self.holds(item))
            for role in self.roles
        )

    def can_change_status(self, item: ChecklistItem) -> bool:
        """Reopening an item, or marking it not applicable or blocked. Closing, holding or undoing a
        gate is a decision for whoever may sign it; any other item, for whoever may work on it."""
        return self.can_sign(item) if item.is_gate else self.can_work_on(item)

    def can_reopen(self, item: ChecklistItem) -> bool:
        """Reopening an item (`can_change_status`). On a completed migration, whoever could sign
        its "migration complete" gate may reopen that gate, which makes the migration active
        again (PracticeMigration.follow_completion_gate); nothing else of it changes."""
        if self.status == PracticeMigration.Status.COMPLETED and item.is_completion_gate:
            return replace(self, status=PracticeMigration.Status.ACTIVE).can_sign(item)
        return self.can_change_status(item)

    @property
    def can_tick(self) -> bool:
        """Whether the person may tick anything of this migration; which items: `can_work_on`."""
        return self.can(Permission.TICK)

    @property
    def can_edit_milestones(self) -> bool:
        return self.can(Permission.EDIT_MILESTONES)

    @property
    def can_upgrade_checklist(self) -> bool:
        return self.can(Permission.UPGRADE_CHECKLIST)

    @property
    def can_assign_owners(self) -> bool:
        return self.can(Permission.ASSIGN_OWNERS)

    @property
    def can_change_migration_status(self) -> bool:
        return self.can(Permission.CHANGE_MIGRATION_STATUS)

    def holds(self, item: ChecklistItem) -> bool:
        """Whether `item`, of this migration, is the person's (`Relations.holds`)."""
        return self.relations.holds(item)


def access_to(user, migration: PracticeMigration) -> Access:
    """The roles `user` holds on `migration`'s practice, through any of their memberships: read
    with their standing (Standing.rows_at), no query of its own."""
    return _access_of(user, migration, standing_of(user).rows_at(user.pk, migration.practice))


def _access_of(user, migration: PracticeMigration, rows: list[tuple]) -> Access:
    """Access from the person's membership rows (MEMBERSHIP_COLUMNS) relating them to `migration`'s practice."""
    return Access(
        roles=frozenset(row[1] for row in rows),  # MEMBERSHIP_COLUMNS: the role is second
        acts_on_every_migration=standing_of(user).acts_on_every_migration,
        relations=Relations.of_rows(rows).get(user.pk, Relations()),
        status=migration.status,
    )


def owner_memberships(item: ChecklistItem) -> QuerySet[Membership]:
    """Who may own `item`: active people holding any role on its practice (`memberships_at`: the
    practice's own people, its delivery partner's, its ICB's), through these memberships. The item
    page offers them (forms.OwnerForm) and `ChecklistItem.assign_owner` checks the choice against
    them under lock; the models import nothing of this module, so the caller passes them in. A
    sign-off gate is owned by someone who may sign it (its responsible role): given to anyone else,
    it would leave the signers' lists and reminders for someone who cannot sign it."""
    memberships = memberships_at(item.migration.practice).filter(user__is_active=True)
    if item.is_gate and Permission.SIGN_GATES in GRANTS[item.responsible_role]:
        memberships = memberships.filter(role=item.responsible_role)
    return memberships


def signers_of(gate: ChecklistItem) -> QuerySet[User]:
    """Active people who may sign the gate (`Access.can_sign`): holding its responsible role on its
    practice, through a membership of the practice, its delivery partner or its ICB; nobody when
    that role signs nothing. Support admins may sign any gate but are not among them: they are not
    asked to. A gate with an owner who is one of them is the owner's to sign: only the owner is
    asked. An owner who may not sign it (someone in another role, no longer active) changes
    nothing: everyone who may is asked. Still one query."""
    role = gate.responsible_role
    roles = [role] if Permission.SIGN_GATES in GRANTS[role] else []
    memberships = memberships_at(gate.migration.practice).filter(role__in=roles)
    signers = User.objects.filter(is_active=True, pk__in=memberships.values("user_id"))
    if gate.owner_id is None:
        return signers
    return signers.filter(Q(pk=gate.owner_id) | ~Exists(signers.filter(pk=gate.owner_id)))


# What the migration and item pages show of a migration, read with it (its kept figures: the
# check-ins section says from them whether a check-in is missed).
MIGRATION_RELATED = ("practice__icb", "practice__delivery_partner", "source_supplier", "target_supplier", "progress")


def _migration_by_id(pk: int) -> QuerySet[PracticeMigration]:
    return PracticeMigration.objects.select_related(*MIGRATION_RELATED).filter(pk=pk).order_by()


def _item_by_ids(migration_pk: int, item_pk: int, *, lock: bool) -> QuerySet[ChecklistItem]:
    items = (
        ChecklistItem.objects.filter(pk=item_pk, migration_id=migration_pk)
        .select_related("completed_by", "owner", "migration__practice")
        .order_by()
    )
    if lock:
        # With the migration's kept figures (not locked): the answer's RAG status reads its check-ins.
        return items.select_for_update(of=ChecklistItem.LOCKED_WITH).select_related("migration__progress")
    # The item's own page shows these too; a change's answer needs none of them.
    return items.select_related("phase", *(f"migration__{related}" for related in MIGRATION_RELATED))


# Written by the ORM once (models/compiled.py): every migration and item page and action runs one.
_MIGRATION_BY_ID = CompiledSelect(PracticeMigration, _migration_by_id, pk=int)
_ITEM_BY_IDS = {
    lock: CompiledSelect(ChecklistItem, partial(_item_by_ids, lock=lock), migration_pk=int, item_pk=int)
    for lock in (False, True)
}


def get_migration(user, pk: int, need: Permission | None = None) -> tuple[PracticeMigration, Access]:
    """The migration if `user` can see it (else 404) and, when `need` is given, holds that
    permission on it (else 403). Read by its id alone, then held to `visible_migrations` in
    memory (Standing.reads_at): one migration needs no subquery of the rule."""
    migration = next(iter(_MIGRATION_BY_ID.objects(pk=pk)), None)
    if migration is None or not standing_of(user).reads_at(migration.practice):
        raise Http404
    access = access_to(user, migration)
    if need is not None and not access.can(need):
        raise _refusal(access, migration)
    return migration, access


def _refusal(access: Access, migration: PracticeMigration) -> PermissionDenied:
    """The 403 for a permission missing on `migration`: a finished one says why (the page then
    says so, not that the person's role does not let them: 403.html shows the message)."""
    if access.is_read_only:
        refusal = PermissionDenied(
            f"This migration is {migration.get_status_display().lower()}, so it is read-only: "
            "nothing about it can change."
        )
        refusal.heading = "This migration can no longer change"
        return refusal
    return PermissionDenied()


def get_item(user, migration_pk: int, item_pk: int, need: Permission | None = None, *, lock: bool = False):
    """An item of a migration `user` can see (else 404), with the permission `need` (else 403).
    One query: the item with its migration and practice, by their ids alone; whether `user` may
    read it (`visible_migrations`) and the roles they hold there are decided from their standing
    (Standing.reads_at, Standing.rows_at).

    With `lock`, inside the caller's transaction, the item and its migration's row are locked as
    ChecklistItem._lock() locks them, and the item is held for the change the caller makes next
    (ChecklistItem.hold_for_change), which then reads nothing again."""
    item = next(iter(_ITEM_BY_IDS[lock].objects(migration_pk=migration_pk, item_pk=item_pk)), None)
    if item is None or not standing_of(user).reads_at(item.migration.practice):
        # As the migration's page answers (a 404, or a 403 for a permission missing on it), then a 404.
        get_migration(user, migration_pk, need)
        raise Http404
    access = access_to(user, item.migration)
    if need is not None and not access.can(need):
        raise _refusal(access, item.migration)
    if lock:
        item.hold_for_change()
    return item, access


def refusal(item: ChecklistItem, access: Access) -> PermissionDenied:
    """The 403 for someone who may read `item` but not do this to it. On an unfinished migration it
    says whose the item is, or who signs the gate; a finished one is read-only for everyone."""
    if access.is_read_only:
        return PermissionDenied()
    if item.is_gate:
        return PermissionDenied(f"This gate is signed off by {responsible_name(item)}.")
    return PermissionDenied(f"This item is for {responsible_name(item)}: you can read it but not change it.")


def get_item_to_work_on(user, migration_pk: int, item_pk: int, *, lock: bool = False):
    """An item `user` may tick, write a note on or load the forms of (`Access.can_work_on`): 404 or
    403 otherwise."""
    item, access = get_item(user, migration_pk, item_pk, Permission.TICK, lock=lock)
    if not access.can_work_on(item):
        raise refusal(item, access)
    return item, access


def get_gate_to_sign(user, migration_pk: int, item_pk: int, *, lock: bool = False):
    """A gate `user` may sign (`Access.can_sign`): 404 or 403 otherwise (anything but a gate: a
    plain 403)."""
    item, access = get_item(user, migration_pk, item_pk, lock=lock)
    if not access.can_sign(item):
        raise refusal(item, access) if item.is_gate else PermissionDenied()
    return item, access


def get_item_to_change(user, migration_pk: int, item_pk: int, *, lock: bool = False):
    """An item whose status `user` may change (`Access.can_change_status`): 404 or 403 otherwise."""
    item, access = get_item(user, migration_pk, item_pk, Permission.TICK, lock=lock)
    if not access.can_change_status(item):
        raise refusal(item, access)
    return item, access


def get_item_to_reopen(user, migration_pk: int, item_pk: int, *, lock: bool = False):
    """An item `user` may reopen (`Access.can_reopen`): 404 or 403 otherwise."""
    item, access = get_item(user, migration_pk, item_pk, lock=lock)
    if not access.can_reopen(item):
        raise refusal(item, access)
    return item, access
