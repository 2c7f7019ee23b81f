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
that migration; without it the answer is 403. Reminders, digests, the calendar feed and sign-off
requests ask this module who relates to what, and never restate it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import Permission as DjangoPermission
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import ChecklistItem, Membership, Practice, PracticeMigration, Role, User


class Permission(StrEnum):
    TICK = "tick"  # mark done, reopen, not applicable, blocked; write notes
    EDIT_MILESTONES = "edit_milestones"  # change milestone dates (replans items)
    SIGN_GATES = "sign_gates"  # sign off a gate item
    # Move the checklist to a later template version. The delivery partner runs the project plan
    # (and support admins may act for them); practice users work the checklist they are given.
    UPGRADE_CHECKLIST = "upgrade_checklist"


EDITOR = frozenset({Permission.TICK, Permission.EDIT_MILESTONES, Permission.SIGN_GATES})
GRANTS: dict[str, frozenset[Permission]] = {
    Role.PRACTICE_MANAGER: EDITOR,
    Role.CLINICAL_LEAD: EDITOR,
    Role.PRACTICE_STAFF: frozenset({Permission.TICK}),
    Role.DELIVERY_PARTNER: EDITOR | {Permission.UPGRADE_CHECKLIST},
    # The ICB funds and approves; it reads its practices' migrations.
    Role.ICB_LEAD: frozenset(),
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


@dataclass(frozen=True)
class Relations:
    """A person's memberships as sets, to test items against in memory and to build conditions
    from: (practice id, role) pairs, delivery partner ids and ICB ids."""

    practice_roles: frozenset[tuple[int, str]] = frozenset()
    partner_ids: frozenset[int] = frozenset()
    icb_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, user: User) -> "Relations":
        return cls.of_users([user.pk]).get(user.pk, cls())

    @classmethod
    def of_users(cls, user_ids: Iterable[int]) -> dict[int, "Relations"]:
        """Everyone's relations in one query; people with no membership are left out."""
        found: dict[int, tuple[set, set, set]] = defaultdict(lambda: (set(), set(), set()))
        for user_id, role, practice_id, partner_id, icb_id in Membership.objects.filter(
            user_id__in=list(user_ids)
        ).values_list("user_id", "role", "practice_id", "delivery_partner_id", "icb_id"):
            practice_roles, partner_ids, icb_ids = found[user_id]
            if practice_id:
                practice_roles.add((practice_id, role))
            elif partner_id:
                partner_ids.add(partner_id)
            elif icb_id:
                icb_ids.add(icb_id)
        return {user_id: cls(*(frozenset(part) for part in parts)) for user_id, parts in found.items()}

    @classmethod
    def combined(cls, relations: Iterable["Relations"]) -> "Relations":
        """Everyone's relations as one: for a single query over several people's items."""
        practice_roles, partner_ids, icb_ids = set(), set(), set()
        for each in relations:
            practice_roles |= each.practice_roles
            partner_ids |= each.partner_ids
            icb_ids |= each.icb_ids
        return cls(frozenset(practice_roles), frozenset(partner_ids), frozenset(icb_ids))

    def migrations(self) -> Q:
        """Migrations of the practices these memberships relate to."""
        return (
            Q(practice_id__in={practice_id for practice_id, _ in self.practice_roles})
            | Q(practice__delivery_partner_id__in=self.partner_ids)
            | Q(practice__icb_id__in=self.icb_ids)
        )

    def own_items(self) -> Q:
        """Items whose responsible role this person holds at that item's practice."""
        condition = Q(pk__in=[])
        by_role: dict[str, list[int]] = defaultdict(list)
        for practice_id, role in self.practice_roles:
            by_role[role].append(practice_id)
        for role, practice_ids in by_role.items():
            condition |= Q(responsible_role=role, migration__practice_id__in=practice_ids)
        if self.partner_ids:
            condition |= Q(
                responsible_role=Role.DELIVERY_PARTNER, migration__practice__delivery_partner_id__in=self.partner_ids
            )
        if self.icb_ids:
            condition |= Q(responsible_role=Role.ICB_LEAD, migration__practice__icb_id__in=self.icb_ids)
        return condition

    def partner_items(self) -> Q:
        """Items of the practices these delivery-partner memberships support (escalations)."""
        return Q(migration__practice__delivery_partner_id__in=self.partner_ids)

    def supports_practice_of(self, item: ChecklistItem) -> bool:
        """Whether `item`'s practice is supported by one of these delivery partners (`partner_items`)."""
        return item.migration.practice.delivery_partner_id in self.partner_ids

    def holds(self, item: ChecklistItem) -> bool:
        """Whether this person holds `item`'s responsible role at its practice (`own_items`, in memory)."""
        practice = item.migration.practice
        role = item.responsible_role
        return (
            (practice.pk, role) in self.practice_roles
            or (role == Role.DELIVERY_PARTNER and practice.delivery_partner_id in self.partner_ids)
            or (role == Role.ICB_LEAD and practice.icb_id in self.icb_ids)
        )


def memberships_responsible_for(items: QuerySet[ChecklistItem]) -> QuerySet[Membership]:
    """Memberships whose role is responsible for at least one of `items` at its practice
    (`Relations.own_items`, from the membership's side)."""
    return Membership.objects.filter(
        (
            Q(practice__isnull=False)
            & Exists(items.filter(responsible_role=OuterRef("role"), migration__practice_id=OuterRef("practice_id")))
        )
        | (
            Q(role=Role.DELIVERY_PARTNER)
            & Exists(
                items.filter(
                    responsible_role=Role.DELIVERY_PARTNER,
                    migration__practice__delivery_partner_id=OuterRef("delivery_partner_id"),
                )
            )
        )
        | (
            Q(role=Role.ICB_LEAD)
            & Exists(items.filter(responsible_role=Role.ICB_LEAD, migration__practice__icb_id=OuterRef("icb_id")))
        )
    )


def partner_memberships_over(items: QuerySet[ChecklistItem]) -> QuerySet[Membership]:
    """Delivery-partner memberships with at least one of `items` at one of their practices."""
    return Membership.objects.filter(role=Role.DELIVERY_PARTNER).filter(
        Exists(items.filter(migration__practice__delivery_partner_id=OuterRef("delivery_partner_id")))
    )


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

    @property
    def permissions(self) -> frozenset[Permission]:
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

    @property
    def can_tick(self) -> bool:
        return self.can(Permission.TICK)

    @property
    def can_edit_milestones(self) -> bool:
        return self.can(Permission.EDIT_MILESTONES)

    @property
    def can_upgrade_checklist(self) -> bool:
        return self.can(Permission.UPGRADE_CHECKLIST)


def access_to(user, migration: PracticeMigration) -> Access:
    """The roles `user` holds on `migration`'s practice, through any of their memberships."""
    roles = memberships_at(migration.practice).filter(user=user).values_list("role", flat=True)
    return Access(roles=frozenset(roles), acts_on_every_migration=standing_of(user).acts_on_every_migration)


def signers_of(gate: ChecklistItem) -> QuerySet[User]:
    """Active people whose role on the gate's practice lets them sign it (the data sign-off needs
    the clinical lead). Support admins may sign any gate but are not among them: they are not
    asked to."""
    roles = [role for role, permissions in GRANTS.items() if Permission.SIGN_GATES in permissions]
    if gate.responsible_role == Role.CLINICAL_LEAD:
        roles = [Role.CLINICAL_LEAD]
    memberships = memberships_at(gate.migration.practice).filter(role__in=roles)
    return User.objects.filter(is_active=True, pk__in=memberships.values("user_id"))


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
    item = get_object_or_404(migration.items.select_related("phase", "completed_by"), pk=item_pk)
    item.migration = migration
    return item, access


def get_item_to_change(user, migration_pk: int, item_pk: int):
    """An item whose status `user` may change (`Access.can_change_status`): 404 or 403 otherwise."""
    item, access = get_item(user, migration_pk, item_pk, Permission.TICK)
    if not access.can_change_status(item):
        raise PermissionDenied
    return item, access
