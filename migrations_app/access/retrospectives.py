"""Retrospectives and lessons: who writes a migration's retrospective, for which side
(`retrospective_side`, `get_migration_to_look_back_on`), and who reads the lessons across
migrations (`may_read_lessons`, `visible_retrospectives`)."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from migrations_app.access.migration_rules import Access, get_migration, visible_migrations
from migrations_app.access.standing import standing_of
from migrations_app.models import PracticeMigration, Retrospective, Role
from migrations_app.models.retrospectives import retrospective_is_open, retrospective_opens_on


class NotOpenYet(PermissionDenied):
    """Refused for now rather than for the person's role: the 403 page gives it its own heading."""

    heading = "The retrospective is not open yet"


def may_read_lessons(user) -> bool:
    """Who opens the Lessons page: the people who look across practices, those who land on the
    dashboard (lands_on_dashboard): delivery-partner and ICB members, national viewers and support
    admins. Practice users are not: their own practice's retrospectives are in its record. Read from
    the person's standing, so the navigation asks it of every page for no query of its own."""
    if not user.is_authenticated or not user.is_active:
        return False
    standing = standing_of(user)
    return standing.reads_every_migration or bool(standing.partner_ids or standing.icb_ids)


def visible_retrospectives(user) -> QuerySet[Retrospective]:
    """The retrospectives (and so the lessons) `user` may read: those of the migrations they can
    read (visible_migrations), on the Lessons page as in each migration's record."""
    return Retrospective.objects.filter(migration__in=visible_migrations(user).values("pk"))


def retrospective_side(access: Access) -> str | None:
    """The side whose retrospective the person writes on this migration: the practice manager's if
    they are the practice's manager, else the delivery partner's if they are one of its delivery
    partner's people; those who act on every migration (support admins) write for the delivery
    partner, as they act for it elsewhere. Anyone else (practice staff, clinical lead, ICB lead,
    readers): None. Not `Access.permissions`, which is empty once a migration is completed: a
    retrospective is written then, too."""
    if Role.PRACTICE_MANAGER in access.roles:
        return Retrospective.Side.PRACTICE_MANAGER
    if Role.DELIVERY_PARTNER in access.roles or access.acts_on_every_migration:
        return Retrospective.Side.DELIVERY_PARTNER
    return None


def get_migration_to_look_back_on(user, pk: int, today) -> tuple[PracticeMigration, Access, str]:
    """A migration `user` can see (else 404), whose retrospective they write for a side (else 403:
    who writes it), and which has gone live (else 403: from when). With that side."""
    migration, access = get_migration(user, pk)
    side = retrospective_side(access)
    if side is None:
        raise PermissionDenied(
            "A migration's retrospective is written by the practice manager and the delivery partner's project manager."
        )
    if not retrospective_is_open(migration, today):
        opens_on = retrospective_opens_on(migration)
        raise NotOpenYet(
            "The retrospective opens at go-live"
            + (f", on {opens_on:%-d %B %Y}." if opens_on else ", and this migration has not got a go-live date.")
        )
    return migration, access, side
