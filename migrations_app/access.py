"""Who may do what: the one place the access rules live.

Two sources of rights, and nothing else (`is_staff` only opens the Django admin):

- **Memberships.** A person relates to a practice through a membership of the practice itself, of
  its delivery partner or of its ICB, with one role (`Relations`). What each role may do to that
  practice's migrations is `GRANTS`.
- **Permissions** (Django's, through groups; see migration 0010): *read every migration* is the view
  permission on practice migrations (national viewers, NHS England); *act on every migration* is
  the change permission (support admins, and superusers). A template editor has neither, so sees
  no migration at all.

Reading goes through `visible_migrations(user)`: a migration a person cannot read is a 404, so we
never reveal that it exists. Writing needs a permission their roles (or their standing) grant on
that migration; without it the answer is 403. A finished migration (completed or cancelled) is
read-only for everyone: `Access` knows the migration's status and grants nothing on it. Reminders,
digests, the calendar feed and sign-off requests ask this module who relates to what, and never
restate it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from django.contrib.auth.models import Permission as DjangoPermission
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import (
    ICB,
    ChecklistItem,
    DeliveryPartner,
    Invitation,
    Membership,
    MigrationImport,
    Practice,
    PracticeMigration,
    Role,
    User,
)
from migrations_app.models.choices import PRACTICE_ROLES
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
    # The ICB funds and approves; it reads its practices' migrations.
    Role.ICB_LEAD: frozenset(),
}

# Who may invite whom, and remove them again: for each role a person holds, the roles they may give,
# in which organisation. "practice" is a practice they relate to through that membership (their own,
# or one their delivery partner supports), "own" is the organisation of that membership itself. People
# who act on every migration (support admins) may invite anyone to any organisation.
INVITES: dict[str, dict[str, frozenset[str]]] = {
    Role.PRACTICE_MANAGER: {"practice": frozenset(PRACTICE_ROLES)},
    Role.DELIVERY_PARTNER: {"practice": frozenset(PRACTICE_ROLES), "own": frozenset({Role.DELIVERY_PARTNER})},
    Role.ICB_LEAD: {"own": frozenset({Role.ICB_LEAD})},
    Role.CLINICAL_LEAD: {},
    Role.PRACTICE_STAFF: {},
}

# Django permissions (codenames in migrations_app) that reach beyond a person's memberships.
READ_EVERY_MIGRATION = "view_practicemigration"
ACT_ON_EVERY_MIGRATION = "change_practicemigration"


# --- a person's standing across all migrations -----------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """What a person's permissions and memberships say about them beyond any one migration."""

    reads_every_migration: bool = False
    acts_on_every_migration: bool = False
    is_delivery_partner: bool = False


def standing_of(user) -> Standing:
    """Read from the database on each request (one query, kept on the user object for the rest of
    it), so a permission or a role granted or taken away counts from the next page on."""
    cached = getattr(user, "_access_standing", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        standing = Standing()
    else:
        granted = DjangoPermission.objects.filter(content_type__app_label="migrations_app").filter(
            Q(user=OuterRef("pk")) | Q(group__user=OuterRef("pk"))
        )
        row = (
            User.objects.filter(pk=user.pk, is_active=True)
            .annotate(
                reads=Exists(granted.filter(codename__in=[READ_EVERY_MIGRATION, ACT_ON_EVERY_MIGRATION])),
                acts=Exists(granted.filter(codename=ACT_ON_EVERY_MIGRATION)),
                partner=Exists(Membership.objects.filter(user=OuterRef("pk"), role=Role.DELIVERY_PARTNER)),
            )
            .values_list("is_superuser", "reads", "acts", "partner")
            .first()
        )
        if row is None:
            standing = Standing()
        else:
            superuser, reads, acts, partner = row
            standing = Standing(
                reads_every_migration=superuser or reads,
                acts_on_every_migration=superuser or acts,
                is_delivery_partner=partner,
            )
    user._access_standing = standing
    return standing


def two_factor_required(user) -> bool:
    """Who must sign in with a second factor: anyone who can see many practices' migrations
    (delivery-partner members, national viewers, support admins) or open the Django admin.
    Everyone else may choose to. Decided from the person's current roles on every request."""
    standing = standing_of(user)
    return bool(user.is_staff or standing.reads_every_migration or standing.is_delivery_partner)


def has_two_factor_device(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def lands_on_dashboard(user) -> bool:
    """People who look across practices (delivery partner, ICB, national viewers and support
    admins) start on the dashboard; a practice's people start on their migration."""
    if standing_of(user).reads_every_migration:
        return True
    return Membership.objects.filter(user=user, practice__isnull=True).exists()


# --- who relates to which practice, through which role -------------------------------------------------


def memberships_at(practice: Practice) -> QuerySet[Membership]:
    """The memberships through which people relate to `practice`: of the practice itself, of its
    delivery partner, or of its ICB."""
    return Membership.objects.filter(
        Q(practice_id=practice.pk)
        | Q(delivery_partner_id=practice.delivery_partner_id, delivery_partner__isnull=False)
        | Q(icb_id=practice.icb_id)
    )


def practices_of(memberships: QuerySet[Membership], practice: str = "practice") -> Q:
    """The condition "`practice` (a lookup path to a Practice) relates to one of `memberships`", as
    subqueries rather than joins, so several memberships never repeat a row."""
    return (
        Q(**{f"{practice}_id__in": memberships.filter(practice__isnull=False).values("practice_id")})
        | Q(
            **{
                f"{practice}__delivery_partner_id__in": memberships.filter(delivery_partner__isnull=False).values(
                    "delivery_partner_id"
                )
            }
        )
        | Q(**{f"{practice}__icb_id__in": memberships.filter(icb__isnull=False).values("icb_id")})
    )


# The columns of a membership that `Relations` are built from.
MEMBERSHIP_COLUMNS = ("user_id", "role", "practice_id", "delivery_partner_id", "icb_id")


@dataclass(frozen=True)
class Relations:
    """A person's memberships as sets, to test items against in memory and to build conditions
    from: (practice id, role) pairs, delivery partner ids and ICB ids; and the person's id
    (`user_ids`, several once combined), for the items they own.

    **Whose items.** An item is a person's when they own it (`ChecklistItem.owner`) and relate to
    its practice, or when it has no owner and they hold its responsible role at its practice. An
    owner's item is theirs alone, not the other holders of its role's. Relating is checked for
    owners too, so that someone removed from a practice whose items were not handed back
    (`ChecklistItemQuerySet.hand_back_to_role`) hears nothing more of them. Written three ways
    that agree (tests/reminders/test_due.py): `own_items` for the database, `holds` in memory,
    `memberships_responsible_for` from the membership's side. Digests, the calendar feed and the
    checklist's "This week" go by it; escalations to the delivery partner do not (`partner_items`)."""

    practice_roles: frozenset[tuple[int, str]] = frozenset()
    partner_ids: frozenset[int] = frozenset()
    icb_ids: frozenset[int] = frozenset()
    user_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, user: User) -> "Relations":
        return cls.of_users([user.pk]).get(user.pk, cls())

    @classmethod
    def of_users(cls, user_ids: Iterable[int]) -> dict[int, "Relations"]:
        """Everyone's relations in one query; people with no membership are left out."""
        return cls.of_rows(Membership.objects.filter(user_id__in=list(user_ids)).values_list(*MEMBERSHIP_COLUMNS))

    @classmethod
    def of_rows(cls, rows: Iterable[tuple]) -> dict[int, "Relations"]:
        """Relations by person, from membership rows of MEMBERSHIP_COLUMNS."""
        found: dict[int, tuple[set, set, set]] = defaultdict(lambda: (set(), set(), set()))
        for user_id, role, practice_id, partner_id, icb_id in rows:
            practice_roles, partner_ids, icb_ids = found[user_id]
            if practice_id:
                practice_roles.add((practice_id, role))
            elif partner_id:
                partner_ids.add(partner_id)
            elif icb_id:
                icb_ids.add(icb_id)
        return {
            user_id: cls(*(frozenset(part) for part in parts), user_ids=frozenset({user_id}))
            for user_id, parts in found.items()
        }

    @classmethod
    def combined(cls, relations: Iterable["Relations"]) -> "Relations":
        """Everyone's relations as one: for a single query over several people's items."""
        practice_roles, partner_ids, icb_ids, user_ids = set(), set(), set(), set()
        for each in relations:
            practice_roles |= each.practice_roles
            partner_ids |= each.partner_ids
            icb_ids |= each.icb_ids
            user_ids |= each.user_ids
        return cls(frozenset(practice_roles), frozenset(partner_ids), frozenset(icb_ids), frozenset(user_ids))

    def _practices(self, practice: str) -> Q:
        """The condition "`practice` (a lookup path to a Practice) is one these memberships relate to"."""
        return (
            Q(**{f"{practice}_id__in": {practice_id for practice_id, _ in self.practice_roles}})
            | Q(**{f"{practice}__delivery_partner_id__in": self.partner_ids})
            | Q(**{f"{practice}__icb_id__in": self.icb_ids})
        )

    def migrations(self) -> Q:
        """Migrations of the practices these memberships relate to."""
        return self._practices("practice")

    def relates_to(self, practice: Practice) -> bool:
        """Whether these memberships relate to `practice` (`migrations`, in memory)."""
        return (
            any(practice_id == practice.pk for practice_id, _ in self.practice_roles)
            or practice.delivery_partner_id in self.partner_ids
            or practice.icb_id in self.icb_ids
        )

    def own_items(self) -> Q:
        """This person's items (see the class): owned by them at a practice they relate to, or with
        no owner and a responsible role they hold at that item's practice."""
        role_held = Q(pk__in=[])
        by_role: dict[str, list[int]] = defaultdict(list)
        for practice_id, role in self.practice_roles:
            by_role[role].append(practice_id)
        for role, practice_ids in by_role.items():
            role_held |= Q(responsible_role=role, migration__practice_id__in=practice_ids)
        if self.partner_ids:
            role_held |= Q(
                responsible_role=Role.DELIVERY_PARTNER, migration__practice__delivery_partner_id__in=self.partner_ids
            )
        if self.icb_ids:
            role_held |= Q(responsible_role=Role.ICB_LEAD, migration__practice__icb_id__in=self.icb_ids)
        owned = Q(owner_id__in=self.user_ids) & self._practices("migration__practice")
        return owned | (Q(owner__isnull=True) & role_held)

    def partner_items(self) -> Q:
        """Items of the practices these delivery-partner memberships support (escalations)."""
        return Q(migration__practice__delivery_partner_id__in=self.partner_ids)

    def supports_practice_of(self, item: ChecklistItem) -> bool:
        """Whether `item`'s practice is supported by one of these delivery partners (`partner_items`)."""
        return item.migration.practice.delivery_partner_id in self.partner_ids

    def holds(self, item: ChecklistItem) -> bool:
        """Whether `item` is this person's (see the class; `own_items`, in memory)."""
        practice = item.migration.practice
        if item.owner_id is not None:
            return item.owner_id in self.user_ids and self.relates_to(practice)
        role = item.responsible_role
        return (
            (practice.pk, role) in self.practice_roles
            or (role == Role.DELIVERY_PARTNER and practice.delivery_partner_id in self.partner_ids)
            or (role == Role.ICB_LEAD and practice.icb_id in self.icb_ids)
        )


def memberships_responsible_for(items: QuerySet[ChecklistItem]) -> QuerySet[Membership]:
    """Memberships through which at least one of `items` is someone's (`Relations.own_items`, from
    the membership's side): an owner's memberships relating them to an owned item's practice, and
    for items with no owner, the memberships whose role is responsible for one at its practice."""
    owned = items.filter(owner_id=OuterRef("user_id")).filter(
        Q(migration__practice_id=OuterRef("practice_id"))
        | Q(migration__practice__delivery_partner_id=OuterRef("delivery_partner_id"))
        | Q(migration__practice__icb_id=OuterRef("icb_id"))
    )
    unowned = items.filter(owner__isnull=True)
    return Membership.objects.filter(
        Exists(owned)
        | (
            Q(practice__isnull=False)
            & Exists(unowned.filter(responsible_role=OuterRef("role"), migration__practice_id=OuterRef("practice_id")))
        )
        | (
            Q(role=Role.DELIVERY_PARTNER)
            & Exists(
                unowned.filter(
                    responsible_role=Role.DELIVERY_PARTNER,
                    migration__practice__delivery_partner_id=OuterRef("delivery_partner_id"),
                )
            )
        )
        | (
            Q(role=Role.ICB_LEAD)
            & Exists(unowned.filter(responsible_role=Role.ICB_LEAD, migration__practice__icb_id=OuterRef("icb_id")))
        )
    )


def partner_memberships_over(items: QuerySet[ChecklistItem]) -> QuerySet[Membership]:
    """Delivery-partner memberships with at least one of `items` at one of their practices."""
    return Membership.objects.filter(role=Role.DELIVERY_PARTNER).filter(
        Exists(items.filter(migration__practice__delivery_partner_id=OuterRef("delivery_partner_id")))
    )


# --- starting migrations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Starter:
    """For which practices a person may start migrations, one by one or from an order tracker.

    A delivery partner's member: the practices one of their delivery partners supports, and new
    practices, which get one of those delivery partners. Someone who acts on every migration
    (support admins, superusers): any practice, choosing the delivery partner of a new one.
    """

    every_practice: bool
    partner_ids: frozenset[int]

    def practices(self) -> QuerySet[Practice]:
        if self.every_practice:
            return Practice.objects.all()
        return Practice.objects.filter(delivery_partner_id__in=self.partner_ids)

    def may_start_for(self, practice: Practice) -> bool:
        return self.every_practice or practice.delivery_partner_id in self.partner_ids

    def may_act_for(self, partner_id: int) -> bool:
        """Whether new practices may be given this delivery partner (an order tracker may be its)."""
        return self.every_practice or partner_id in self.partner_ids

    def partners(self) -> QuerySet[DeliveryPartner]:
        """The delivery partners a new practice (or an order tracker) may be given."""
        if self.every_practice:
            return DeliveryPartner.objects.all()
        return DeliveryPartner.objects.filter(pk__in=self.partner_ids)


def may_start_migrations(user) -> bool:
    standing = standing_of(user)
    return standing.is_delivery_partner or standing.acts_on_every_migration


def starter(user) -> Starter:
    """What `user` may start migrations for, or a 403 for anyone who may not (an outsider too: these
    pages are about no one migration, so there is nothing to hide)."""
    if not may_start_migrations(user):
        raise PermissionDenied
    partner_ids = Membership.objects.filter(user=user, role=Role.DELIVERY_PARTNER).values_list(
        "delivery_partner_id", flat=True
    )
    return Starter(every_practice=standing_of(user).acts_on_every_migration, partner_ids=frozenset(partner_ids))


def project_manager_memberships() -> QuerySet[Membership]:
    """The memberships that let a person be named a migration's project manager: an active person's
    membership of the delivery partner that supports the practice."""
    return Membership.objects.filter(role=Role.DELIVERY_PARTNER, user__is_active=True)


def project_managers(partner_ids: Iterable[int]) -> QuerySet[User]:
    """Who may be named the project manager of a migration at a practice one of `partner_ids` supports."""
    memberships = project_manager_memberships().filter(delivery_partner_id__in=list(partner_ids))
    return User.objects.filter(pk__in=memberships.values("user_id"))


def get_import(user, pk: int) -> tuple[MigrationImport, Starter]:
    """An uploaded order tracker, for someone who may start migrations (else 403). It belongs to
    whoever uploaded it: to anyone else it is a 404, as if it did not exist."""
    may_start = starter(user)
    uploads = MigrationImport.objects.select_related("delivery_partner")
    return get_object_or_404(uploads, pk=pk, uploaded_by=user), may_start


# --- reading migrations -----------------------------------------------------------------------------------


def visible_migrations(user, migrations: QuerySet[PracticeMigration] | None = None) -> QuerySet[PracticeMigration]:
    """The one rule for reading: `migrations` (all by default) narrowed to those `user` may read.
    People with the permission to read every migration read them all; everyone else reads the
    migrations of the practices they relate to through a membership. One query, with subqueries."""
    if migrations is None:
        migrations = PracticeMigration.objects.all()
    if not user.is_authenticated or not user.is_active:
        return migrations.none()
    if standing_of(user).reads_every_migration:
        return migrations
    return migrations.filter(practices_of(Membership.objects.filter(user=user)))


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
        """Gates the guide gives to the lead clinician (the data sign-off) need a clinical lead."""
        if not item.is_gate or not self.can(Permission.SIGN_GATES):
            return False
        return (
            self.acts_on_every_migration
            or item.responsible_role != Role.CLINICAL_LEAD
            or Role.CLINICAL_LEAD in self.roles
        )

    def can_change_status(self, item: ChecklistItem) -> bool:
        """Reopening an item, or marking it not applicable or blocked. Closing, holding or undoing a
        gate is a decision for whoever may sign it; any other item, for whoever may tick."""
        return self.can_sign(item) if item.is_gate else self.can(Permission.TICK)

    def can_reopen(self, item: ChecklistItem) -> bool:
        """Reopening an item (`can_change_status`). On a completed migration, whoever could sign
        its "migration complete" gate may reopen that gate, which makes the migration active
        again (PracticeMigration.follow_completion_gate); nothing else of it changes."""
        if self.status == PracticeMigration.Status.COMPLETED and item.is_completion_gate:
            return replace(self, status=PracticeMigration.Status.ACTIVE).can_sign(item)
        return self.can_change_status(item)

    @property
    def can_tick(self) -> bool:
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
    """The roles `user` holds on `migration`'s practice, through any of their memberships (one query)."""
    rows = list(memberships_at(migration.practice).filter(user=user).values_list(*MEMBERSHIP_COLUMNS))
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
    them under lock; the models import nothing of this module, so the caller passes them in."""
    return memberships_at(item.migration.practice).filter(user__is_active=True)


def signers_of(gate: ChecklistItem) -> QuerySet[User]:
    """Active people whose role on the gate's practice lets them sign it (the data sign-off needs
    the clinical lead). Support admins may sign any gate but are not among them: they are not
    asked to. A gate with an owner who is one of them is the owner's to sign: only the owner is
    asked. An owner who may not sign it (practice staff, an ICB lead, someone no longer active)
    changes nothing: everyone who may is asked. Still one query."""
    roles = [role for role, permissions in GRANTS.items() if Permission.SIGN_GATES in permissions]
    if gate.responsible_role == Role.CLINICAL_LEAD:
        roles = [Role.CLINICAL_LEAD]
    memberships = memberships_at(gate.migration.practice).filter(role__in=roles)
    signers = User.objects.filter(is_active=True, pk__in=memberships.values("user_id"))
    if gate.owner_id is None:
        return signers
    return signers.filter(Q(pk=gate.owner_id) | ~Exists(signers.filter(pk=gate.owner_id)))


def get_migration(user, pk: int, need: Permission | None = None) -> tuple[PracticeMigration, Access]:
    """The migration if `user` can see it (else 404) and, when `need` is given, holds that
    permission on it (else 403)."""
    migration = get_object_or_404(
        visible_migrations(user).select_related(
            "practice__icb", "practice__delivery_partner", "source_supplier", "target_supplier"
        ),
        pk=pk,
    )
    access = access_to(user, migration)
    if need is not None and not access.can(need):
        raise PermissionDenied
    return migration, access


def get_item(user, migration_pk: int, item_pk: int, need: Permission | None = None):
    """An item of a migration `user` can see (else 404), with the permission `need` (else 403)."""
    migration, access = get_migration(user, migration_pk, need)
    item = get_object_or_404(migration.items.select_related("phase", "completed_by", "owner"), pk=item_pk)
    item.migration = migration
    return item, access


def get_item_to_change(user, migration_pk: int, item_pk: int):
    """An item whose status `user` may change (`Access.can_change_status`): 404 or 403 otherwise."""
    item, access = get_item(user, migration_pk, item_pk, Permission.TICK)
    if not access.can_change_status(item):
        raise PermissionDenied
    return item, access


def get_item_to_reopen(user, migration_pk: int, item_pk: int):
    """An item `user` may reopen (`Access.can_reopen`): 404 or 403 otherwise."""
    item, access = get_item(user, migration_pk, item_pk)
    if not access.can_reopen(item):
        raise PermissionDenied
    return item, access


# --- who may invite whom, and remove them (INVITES) -------------------------------------------------------

Organisation = Practice | DeliveryPartner | ICB


def roles_in(organisation: Organisation) -> tuple[str, ...]:
    """The roles a membership of `organisation` can have (`role_matches_organisation`), in the
    order pages list them."""
    if isinstance(organisation, Practice):
        return (Role.PRACTICE_MANAGER, Role.CLINICAL_LEAD, Role.PRACTICE_STAFF)
    return (Role.DELIVERY_PARTNER,) if isinstance(organisation, DeliveryPartner) else (Role.ICB_LEAD,)


def roles_to_invite(user, organisation: Organisation, relations: Relations | None = None) -> tuple[str, ...]:
    """The roles `user` may give in `organisation` (a practice, a delivery partner or an ICB): invite
    people with, resend or cancel invitations with, and take away again (`may_remove`). INVITES, read
    for each of their memberships; every role for people who act on every migration. In the order of
    `roles_in`. `relations`: the person's memberships when already read (`Access.relations` has those
    relating them to a practice), else read here (one query)."""
    if not user.is_authenticated or not user.is_active:
        return ()
    if standing_of(user).acts_on_every_migration:
        return roles_in(organisation)
    if relations is None:
        relations = Relations.of(user)
    given: set[str] = set()
    if isinstance(organisation, Practice):
        for practice_id, role in relations.practice_roles:
            if practice_id == organisation.pk:
                given |= INVITES[role].get("practice", frozenset()) | INVITES[role].get("own", frozenset())
        if organisation.delivery_partner_id in relations.partner_ids:
            given |= INVITES[Role.DELIVERY_PARTNER].get("practice", frozenset())
        if organisation.icb_id in relations.icb_ids:
            given |= INVITES[Role.ICB_LEAD].get("practice", frozenset())
    elif isinstance(organisation, DeliveryPartner) and organisation.pk in relations.partner_ids:
        given |= INVITES[Role.DELIVERY_PARTNER].get("own", frozenset())
    elif isinstance(organisation, ICB) and organisation.pk in relations.icb_ids:
        given |= INVITES[Role.ICB_LEAD].get("own", frozenset())
    return tuple(role for role in roles_in(organisation) if role in given)


def may_remove(user, membership: Membership, roles: Iterable[str] | None = None) -> bool:
    """Whether `user` may end `membership`: one whose role they may give there (`roles_to_invite`,
    passed as `roles` when already known), and never their own."""
    if membership.user_id == user.pk:
        return False
    return membership.role in (roles_to_invite(user, membership.organisation) if roles is None else roles)


def teams_of(user) -> list[DeliveryPartner | ICB]:
    """The delivery partners and ICBs `user` belongs to and may invite colleagues to: their teams."""
    memberships = Membership.objects.filter(user=user, practice__isnull=True).select_related("delivery_partner", "icb")
    relations = Relations.of(user)
    return [each.organisation for each in memberships if roles_to_invite(user, each.organisation, relations)]


def get_people_of(user, pk: int) -> tuple[PracticeMigration, tuple[str, ...]]:
    """A migration `user` can see (else 404) and the roles they may give at its practice (none: 403)."""
    migration, access = get_migration(user, pk)
    roles = roles_to_invite(user, migration.practice, access.relations)
    if not roles:
        raise PermissionDenied
    return migration, roles


def get_practice_invitation(user, pk: int, invitation_pk: int) -> tuple[PracticeMigration, Invitation]:
    """An invitation to the practice of a migration `user` can see (else 404), whose role they may
    give (else 403)."""
    migration, roles = get_people_of(user, pk)
    invitation = get_object_or_404(Invitation, pk=invitation_pk, practice_id=migration.practice_id)
    if invitation.role not in roles:
        raise PermissionDenied
    invitation.practice = migration.practice
    return migration, invitation


def get_practice_member(user, pk: int, membership_pk: int) -> tuple[PracticeMigration, Membership]:
    """A membership of the practice of a migration `user` can see (else 404) that they may end (else 403)."""
    migration, roles = get_people_of(user, pk)
    members = Membership.objects.select_related("user")
    membership = get_object_or_404(members, pk=membership_pk, practice_id=migration.practice_id)
    membership.practice = migration.practice
    _refuse_removing_oneself(user, membership)
    if not may_remove(user, membership, roles):
        raise PermissionDenied
    return migration, membership


def get_team_invitation(user, invitation_pk: int) -> Invitation:
    """An invitation to a delivery partner or an ICB whose role `user` may give there. To anyone
    else it is a 404: a team's invitations are nobody else's business."""
    invitation = get_object_or_404(
        Invitation.objects.filter(practice__isnull=True).select_related("delivery_partner", "icb"), pk=invitation_pk
    )
    if invitation.role not in roles_to_invite(user, invitation.organisation):
        raise Http404
    return invitation


def get_team_member(user, membership_pk: int) -> Membership:
    """A membership of a delivery partner or an ICB that `user` may end (their own: 403), else a 404."""
    membership = get_object_or_404(
        Membership.objects.filter(practice__isnull=True).select_related("user", "delivery_partner", "icb"),
        pk=membership_pk,
    )
    if membership.role not in roles_to_invite(user, membership.organisation):
        raise Http404
    _refuse_removing_oneself(user, membership)
    return membership


def _refuse_removing_oneself(user, membership: Membership) -> None:
    if membership.user_id == user.pk:
        raise PermissionDenied(
            f"You cannot remove yourself from {membership.organisation}. Ask someone else who manages its people."
        )
