"""Who relates to which practice, through which role: memberships of a practice, of its delivery
partner or of its ICB, as conditions for the database (`memberships_at`, `practices_of`) and as
sets to test in memory (`Relations`), and whose items are whose."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from migrations_app.models import ChecklistItem, Membership, Practice, Role, User


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
    checklist's "This week" go by it, and so do the items the ICB lead may work on beyond the
    ICB's own (`Access.can_work_on`); escalations to the delivery partner do not (`partner_items`)."""

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
