"""A person's standing across all migrations: what their Django permissions (through groups) and
memberships say about them beyond any one migration. Read once per request (`standing_of`); the
two-factor and landing-page rules go by it."""

import json
from dataclasses import dataclass

from django.contrib.auth.models import Permission as DjangoPermission
from django.db.models import Aggregate, Exists, OuterRef, Q, Subquery, TextField
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import Membership, Role, User

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


class _IdList(Aggregate):
    """The values of a column as the text of one JSON list: json_group_array in SQLite,
    json_agg in PostgreSQL (as text, which both drivers hand back alike)."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = self.as_sql(compiler, connection, function="JSON_AGG", **extra_context)
        return f"({sql})::text", params


def _ids_of(column: str) -> Subquery:
    """The person's (OuterRef) memberships' ids in `column`, as the text of a JSON list (NULL when none)."""
    memberships = Membership.objects.filter(user=OuterRef("pk"), **{f"{column}__isnull": False}).order_by()
    return Subquery(memberships.values("user").annotate(ids=_IdList(column)).values("ids"), output_field=TextField())


def _id_set(text: str | None) -> frozenset[int]:
    return frozenset(json.loads(text)) if text else frozenset()


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
                practice_ids=_ids_of("practice_id"),
                partner_ids=_ids_of("delivery_partner_id"),
                icb_ids=_ids_of("icb_id"),
            )
            .values_list("is_superuser", "reads", "acts", "partner", "practice_ids", "partner_ids", "icb_ids")
            .first()
        )
        if row is None:
            standing = Standing()
        else:
            superuser, reads, acts, partner, practice_ids, partner_ids, icb_ids = row
            standing = Standing(
                reads_every_migration=superuser or reads,
                acts_on_every_migration=superuser or acts,
                is_delivery_partner=partner,
                practice_ids=_id_set(practice_ids),
                partner_ids=_id_set(partner_ids),
                icb_ids=_id_set(icb_ids),
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
