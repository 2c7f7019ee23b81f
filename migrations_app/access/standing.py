"""A person's standing across all migrations: what their Django permissions (through groups) and
memberships say about them beyond any one migration. Read once per request (`standing_of`); the
two-factor and landing-page rules go by it."""

from dataclasses import dataclass

from django.contrib.auth.models import Permission as DjangoPermission
from django.db import connections, router
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import Membership, Role, User
from migrations_app.models.compiled import prepared, statement_name

# Django permissions (codenames in migrations_app) that reach beyond a person's memberships.
READ_EVERY_MIGRATION = "view_practicemigration"
ACT_ON_EVERY_MIGRATION = "change_practicemigration"


@dataclass(frozen=True)
class Standing:
    """What a person's permissions and memberships say about them beyond any one migration."""

    reads_every_migration: bool = False
    acts_on_every_migration: bool = False
    is_delivery_partner: bool = False
    # The organisations the person holds a membership of: the practices whose migrations they
    # read (access.visible_migrations) are these practices, and those of these delivery partners
    # and ICBs. Read as ids so that the database can find those practices through their indexes.
    practice_ids: frozenset[int] = frozenset()
    partner_ids: frozenset[int] = frozenset()
    icb_ids: frozenset[int] = frozenset()
    # Every membership as (role, practice id, delivery partner id, ICB id), one of the ids set: the
    # person's roles at a practice are read from these (`rows_at`), not from the database again.
    memberships: tuple[tuple[str, int | None, int | None, int | None], ...] = ()

    @property
    def changes_nothing(self) -> bool:
        """Whether the person may change no migration at all (a national viewer): no membership
        that acts on one, no permission to act on every one."""
        return not (self.acts_on_every_migration or self.memberships)

    @property
    def reads_no_migration(self) -> bool:
        """Whether the person reads no migration at all: no membership, no permission to read every
        migration (a template editor, or someone whose every role was removed)."""
        return not (self.reads_every_migration or self.practice_ids or self.partner_ids or self.icb_ids)

    @property
    def sees_one_practice(self) -> bool:
        """Whether the person reads the migrations of one practice at most (its people): their
        start page is that practice's migration (views.pages.home), with no list to go back to."""
        return not (self.reads_every_migration or self.partner_ids or self.icb_ids) and len(self.practice_ids) <= 1

    def reads_at(self, practice) -> bool:
        """Whether the person reads the migrations of `practice` (a Practice, its delivery partner
        and ICB ids at hand): `access.visible_migrations` for one practice, decided in memory from
        the same ids, for the pages that fetch one migration or item by its id. Compiling the rule
        as a subquery cost such a page about 3.5 ms of its CPU, and PostgreSQL a plan each time."""
        return (
            self.reads_every_migration
            or practice.pk in self.practice_ids
            or (practice.delivery_partner_id is not None and practice.delivery_partner_id in self.partner_ids)
            or (practice.icb_id is not None and practice.icb_id in self.icb_ids)
        )

    def rows_at(self, user_id: int, practice) -> list[tuple]:
        """The rows of MEMBERSHIP_COLUMNS (access.relations) of the person's memberships through
        which they relate to `practice`, as `memberships_at(practice).filter(user=...)` reads
        them: of the practice itself, of its delivery partner or of its ICB."""
        return [
            (user_id, role, practice_id, partner_id, icb_id)
            for role, practice_id, partner_id, icb_id in self.memberships
            if (practice_id is not None and practice_id == practice.pk)
            or (partner_id is not None and partner_id == practice.delivery_partner_id)
            or (icb_id is not None and icb_id == practice.icb_id)
        ]


def _standing_sql(connection) -> str:
    """The person's standing as rows of (kind, value, practice, delivery partner, ICB), one
    statement for both databases: a row "superuser" or "active" for the person (none when they are
    inactive or gone), a row "permission" for each codename of READ_EVERY_MIGRATION and
    ACT_ON_EVERY_MIGRATION they hold directly or through a group, and a row "membership" for each
    membership, with its role.

    The memberships come first: PostgreSQL types each column of a UNION from its first SELECT
    that gives one, and the others' NULLs then take the ids' type.

    Written as SQL rather than through the ORM because it runs on every request: the ORM's form
    of it (Exists and json_agg subqueries) took about 10 ms to compile and PostgreSQL 2.6 ms to
    plan, against well under 1 ms for this. The names come from the models' metadata, quoted;
    the user's id and the codenames go as parameters. tests/test_standing.py holds it to the
    rule."""
    quote = connection.ops.quote_name
    user, membership = User._meta, Membership._meta
    user_permissions = User.user_permissions.through._meta
    user_groups = User.groups.through._meta
    group_permissions = DjangoPermission.group_set.through._meta
    content_type = DjangoPermission._meta.get_field("content_type").related_model._meta
    permission = DjangoPermission._meta
    return f"""
        SELECT 'membership', {quote("role")}, {quote("practice_id")}, {quote("delivery_partner_id")}, {quote("icb_id")}
        FROM {quote(membership.db_table)} WHERE {quote("user_id")} = %s
        UNION ALL
        SELECT CASE WHEN {quote("is_superuser")} THEN 'superuser' ELSE 'active' END, NULL, NULL, NULL, NULL
        FROM {quote(user.db_table)} WHERE {quote("id")} = %s AND {quote("is_active")}
        UNION ALL
        SELECT 'permission', p.{quote("codename")}, NULL, NULL, NULL
        FROM {quote(permission.db_table)} p
        JOIN {quote(content_type.db_table)} t ON t.{quote("id")} = p.{quote("content_type_id")}
        WHERE t.{quote("app_label")} = %s AND p.{quote("codename")} IN (%s, %s) AND (
            p.{quote("id")} IN (
                SELECT {quote("permission_id")} FROM {quote(user_permissions.db_table)} WHERE {quote("user_id")} = %s
            )
            OR p.{quote("id")} IN (
                SELECT gp.{quote("permission_id")} FROM {quote(group_permissions.db_table)} gp
                JOIN {quote(user_groups.db_table)} ug ON ug.{quote("group_id")} = gp.{quote("group_id")}
                WHERE ug.{quote("user_id")} = %s
            )
        )
    """  # nosec B608: names quoted from the models' metadata; every value is a parameter


# The statement by database vendor, written on first use.
_STANDING_SQL: dict[str, str] = {}
_STANDING_NAME = statement_name()  # prepared on PostgreSQL: planning it took 0.27 ms, running it 0.06


def standing_of(user) -> Standing:
    """Read from the database on each request (one query, kept on the user object for the rest of
    it), so a permission or a role granted or taken away counts from the next page on."""
    cached = getattr(user, "_access_standing", None)
    if cached is not None:
        return cached
    standing = Standing()
    if user.is_authenticated and user.is_active:
        connection = connections[router.db_for_read(User)]
        sql = _STANDING_SQL.get(connection.vendor)
        if sql is None:
            sql = _STANDING_SQL[connection.vendor] = _standing_sql(connection)
        asked = (READ_EVERY_MIGRATION, ACT_ON_EVERY_MIGRATION)
        params = [user.pk, user.pk, "migrations_app", *asked, user.pk, user.pk]
        sql, params = prepared(connection, _STANDING_NAME, sql, params)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        kinds = {kind for kind, *_ in rows}
        if kinds & {"superuser", "active"}:
            superuser = "superuser" in kinds
            held = {value for kind, value, *_ in rows if kind == "permission"}
            memberships = [row[1:] for row in rows if row[0] == "membership"]
            standing = Standing(
                reads_every_migration=superuser or bool(held),
                acts_on_every_migration=superuser or ACT_ON_EVERY_MIGRATION in held,
                is_delivery_partner=any(role == Role.DELIVERY_PARTNER for role, *_ in memberships),
                practice_ids=frozenset(practice for _, practice, _, _ in memberships if practice is not None),
                partner_ids=frozenset(partner for _, _, partner, _ in memberships if partner is not None),
                icb_ids=frozenset(icb for _, _, _, icb in memberships if icb is not None),
                memberships=tuple(sorted(memberships, key=str)),
            )
    user._access_standing = standing
    return standing


def forget_standing(user) -> None:
    """After `user`'s memberships or permissions change within a request: read their standing
    again when next asked, not the one kept on the object."""
    # Through the attribute, not __dict__: request.user is a lazy object that passes it on.
    if hasattr(user, "_access_standing"):
        del user._access_standing


def two_factor_required(user) -> bool:
    """Who must sign in with a second factor: anyone who can see many practices' migrations
    (delivery-partner members, ICB members, national viewers, support admins) or open the Django
    admin. Everyone else may choose to. Decided from the person's current roles on every request."""
    standing = standing_of(user)
    return bool(user.is_staff or standing.reads_every_migration or standing.is_delivery_partner or standing.icb_ids)


def has_two_factor_device(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def lands_on_dashboard(user) -> bool:
    """People who look across practices (delivery partner, ICB, national viewers and support
    admins) start on the dashboard; a practice's people start on their migration."""
    if standing_of(user).reads_every_migration:
        return True
    return Membership.objects.filter(user=user, practice__isnull=True).exists()


def gets_reminders(user) -> bool:
    """Whether reminders can concern the person: they come through memberships (a role at a
    practice, a delivery partner or an ICB: reminders.due), so for someone with none (a national
    viewer, a support admin, a template editor) there is nothing to remind them of, nor a calendar."""
    return user.is_authenticated and bool(standing_of(user).memberships)


def may_use_the_api(user) -> bool:
    """Whether a personal API token could read anything for the person: the API reads migrations,
    so not for someone who reads none (a template editor, someone whose every role was removed)."""
    return user.is_authenticated and not standing_of(user).reads_no_migration


def has_a_team(user) -> bool:
    """Whether the person belongs to a delivery partner or an ICB: the team whose page (its people,
    its invitations, a delivery partner's check-in day) the header links to."""
    if not user.is_authenticated:
        return False
    standing = standing_of(user)
    return bool(standing.partner_ids or standing.icb_ids)
