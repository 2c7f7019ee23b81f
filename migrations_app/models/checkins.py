"""Weekly check-ins. Each migration in progress has one a week, on the working day its delivery
partner chooses (`DeliveryPartner.check_in_weekday`; Monday for a practice with none): the practice
manager and the delivery partner's project manager each give a RAG status of their own and a short
note. A second check-in by the same side in the same week replaces the first (both are in the event
log). Who may give which side is `access.check_in_sides`.

**Missed**: more than MISSED_AFTER_DAYS days since the migration's last check-in, by either side;
for a migration with none, since check-ins started to count for it (its start, or the day check-ins
came in: `ChecklistProgress.check_ins_from_on`). Only a migration in progress misses one. The rule
is written for the database (`missed_condition`) and in memory (`is_missed`); tests/test_checkins.py
holds them together at the boundary. The dashboard's RAG rule (dashboard/rag.py) reads both flags
this module defines: `check_in_missed_now` and `check_in_red_now`."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import BooleanField, Case, Q, Value, When
from django.utils import timezone

from migrations_app.models.checklist_items import ChecklistProgress
from migrations_app.models.choices import CheckInRag, CheckInSide, Weekday
from migrations_app.models.compiled import CompiledSelect
from migrations_app.models.events import Event
from migrations_app.models.people import DeliveryPartner, Practice
from migrations_app.models.practice_migrations import MigrationStatus, PracticeMigration

MISSED_AFTER_DAYS = 9
"""A check-in is missed once more than this many days have passed since the last one."""
NOTE_MAX_LENGTH = 1000
# Worst first: the order in which a migration's self-assessments are compared.
WORST_FIRST = [CheckInRag.RED, CheckInRag.AMBER, CheckInRag.GREEN]


def weekday_of(practice: Practice) -> int:
    """The day of the week the practice's migration holds its check-in on (date.weekday())."""
    partner = practice.delivery_partner
    return partner.check_in_weekday if partner is not None else Weekday.MONDAY


def week_of(day: date, weekday: int) -> date:
    """The check-in day of the week `day` is in: the last `weekday` on or before `day`. A check-in
    given on any day is for that week."""
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def worst(rags: Iterable[str]) -> str:
    """The worst of some RAG statuses, "" for none."""
    given = set(rags)
    return next((rag for rag in WORST_FIRST if rag in given), "")


# --- missed, and a red self-assessment: in memory and for the database ---------------------------------


def is_missed(*, status: str, last_on: date | None, from_on: date | None, today: date) -> bool:
    """Whether a migration's check-in is missed on `today` (see the module's docstring)."""
    counted_from = last_on or from_on
    if status != MigrationStatus.ACTIVE or counted_from is None:
        return False
    return (today - counted_from).days > MISSED_AFTER_DAYS


def missed_condition(today: date) -> Q:
    """`is_missed`, as a condition on PracticeMigration (its ChecklistProgress joined)."""
    cutoff = today - timedelta(days=MISSED_AFTER_DAYS)
    return Q(status=MigrationStatus.ACTIVE) & (
        Q(progress__last_check_in_on__lt=cutoff)
        | Q(progress__last_check_in_on__isnull=True, progress__check_ins_from_on__lt=cutoff)
    )


def is_red(*, status: str, rag: str) -> bool:
    """Whether a migration in progress has a red self-assessment: one side's latest check-in is red."""
    return status == MigrationStatus.ACTIVE and rag == CheckInRag.RED


def red_condition() -> Q:
    """`is_red`, as a condition on PracticeMigration (its ChecklistProgress joined)."""
    return Q(status=MigrationStatus.ACTIVE, progress__check_in_rag=CheckInRag.RED)


def annotations(today: date) -> dict[str, Case]:
    """The two flags the dashboard's rows and RAG rule read: `check_in_missed_now`, `check_in_red_now`."""
    return {
        "check_in_missed_now": Case(
            When(missed_condition(today), then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        "check_in_red_now": Case(
            When(red_condition(), then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
    }


# --- the check-in -------------------------------------------------------------------------------------


class CheckIn(models.Model):
    """One side's check-in for one week of a migration: a RAG status of their own and a note."""

    Side = CheckInSide
    Rag = CheckInRag

    migration = models.ForeignKey(PracticeMigration, on_delete=models.CASCADE, related_name="check_ins")
    side = models.CharField(max_length=16, choices=CheckInSide.choices)
    week_on = models.DateField("week", help_text="The check-in day of the week it is for.")
    rag = models.CharField("RAG status", max_length=8, choices=CheckInRag.choices)
    note = models.TextField(max_length=NOTE_MAX_LENGTH)
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    given_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_on", "side"]
        constraints = [
            # One a side a week: a second one replaces it (give()).
            models.UniqueConstraint(fields=["migration", "side", "week_on"], name="checkin_one_per_side_a_week"),
            models.CheckConstraint(condition=Q(side__in=CheckInSide.values), name="checkin_side_valid"),
            models.CheckConstraint(condition=Q(rag__in=CheckInRag.values), name="checkin_rag_valid"),
            models.CheckConstraint(condition=~Q(note=""), name="checkin_note_given"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_side_display()}'s check-in for the week of {self.week_on:%-d %B %Y}: {self.get_rag_display()}"
        )

    @property
    def tag_class(self) -> str:
        return RAG_TAG_CLASSES[self.rag]

    @classmethod
    def give(
        cls, migration: PracticeMigration, *, side: str, rag: str, note: str, by, at: datetime | None = None
    ) -> tuple["CheckIn", bool]:
        """Record `side`'s check-in for this week, or replace the one it gave this week already
        (returns it, and whether it is new; `changed` on it is false when this week's was given
        already with the same status and note, and nothing is saved). Written to the event log; the migration's last
        check-in day and worst self-assessment (ChecklistProgress) are kept in the same
        transaction, with the migration's row locked so two check-ins at once queue. Refused
        (ValidationError) unless the migration is in progress. Who may give `side` is the
        caller's to check (access.get_migration_to_check_in). `at`: when it was given, for one
        recorded later (the demo data, in the order they were given); now by default."""
        note = note.strip()
        if not note:
            raise ValidationError({"note": "Enter a note: what moved, what is stuck, what help is needed"})
        if side not in CheckInSide.values or rag not in CheckInRag.values:
            raise ValueError(f"Unknown side or RAG status: {side!r}, {rag!r}")
        with transaction.atomic():
            locked = (
                PracticeMigration.objects.select_for_update(of=("self",))
                .select_related("practice__delivery_partner")
                .get(pk=migration.pk)
            )
            if locked.status != MigrationStatus.ACTIVE:
                raise ValidationError(
                    f"This migration is {locked.get_status_display().lower()}, so it has no check-ins."
                )
            now = at or timezone.now()
            today = timezone.localdate(now)
            week_on = week_of(today, weekday_of(locked.practice))
            check_in = cls.objects.filter(migration=locked, side=side, week_on=week_on).first()
            created = check_in is None
            if not created and (check_in.rag, check_in.note) == (rag, note):
                # Given again as it stands (a form sent twice, or saved to look at it): nothing to log.
                check_in.changed = False
                return check_in, False
            old_rag = "" if created else check_in.rag
            if created:
                check_in = cls(migration=locked, side=side, week_on=week_on)
            check_in.rag, check_in.note, check_in.given_by, check_in.given_at = rag, note, by, now
            check_in.save()
            check_in.changed = True
            Event.objects.create(
                migration=locked,
                actor=by,
                at=now,
                kind=Event.Kind.CHECK_IN,
                field=f"{side}_check_in",
                old_value=old_rag,
                new_value=rag,
                reason=note,
            )
            latest: dict[str, str] = {}
            for each_side, each_rag in cls.objects.filter(migration=locked).values_list("side", "rag"):
                latest.setdefault(each_side, each_rag)  # newest week first (Meta.ordering)
            ChecklistProgress.objects.filter(migration_id=locked.pk).update(
                last_check_in_on=today, check_in_rag=worst(latest.values())
            )
        return check_in, created


RAG_TAG_CLASSES = {
    CheckInRag.RED: "nhsuk-tag--red",
    CheckInRag.AMBER: "nhsuk-tag--orange",
    CheckInRag.GREEN: "nhsuk-tag--green",
}


def set_check_in_day(partner: DeliveryPartner, weekday: int, *, by) -> bool:
    """Move a delivery partner's check-in day, written to the event log. Check-ins of earlier weeks
    keep their week. Those of the week under way are moved to the week their day falls in on the
    new day (_redate_this_weeks): one given today stays this week's check-in. False, and nothing
    written, if unchanged."""
    if weekday not in Weekday.values:
        raise ValueError(f"Not a check-in day: {weekday!r}")
    if weekday == partner.check_in_weekday:
        return False
    with transaction.atomic():
        _redate_this_weeks(partner, partner.check_in_weekday, weekday)
        Event.objects.create(
            delivery_partner=partner,
            actor=by,
            kind=Event.Kind.ATTRIBUTE,
            field="check_in_weekday",
            old_value=Weekday(partner.check_in_weekday).label,
            new_value=Weekday(weekday).label,
        )
        partner.check_in_weekday = weekday
        partner.save(update_fields=["check_in_weekday"])
    return True


def _redate_this_weeks(partner: DeliveryPartner, old_weekday: int, new_weekday: int) -> None:
    """The check-ins of the week under way (on the old day) at `partner`'s migrations, each moved to
    the week its day falls in on the new day: moving Monday to Thursday on a Friday, a check-in
    given that Friday is for the week from Thursday (this week's, still), and one given on the
    Monday for the week before. One a side a week: a check-in whose new week already has that
    side's keeps its week."""
    today = timezone.localdate()
    this_weeks = list(
        CheckIn.objects.select_for_update(of=("self",))
        .filter(migration__practice__delivery_partner=partner, week_on=week_of(today, old_weekday))
        .order_by("pk")
    )
    moved = []
    for check_in in this_weeks:
        check_in.week_on = week_of(timezone.localdate(check_in.given_at), new_weekday)
        moved.append(check_in)
    taken = set(
        CheckIn.objects.filter(
            migration_id__in={each.migration_id for each in moved}, week_on__in={each.week_on for each in moved}
        ).values_list("migration_id", "side", "week_on")
    )
    CheckIn.objects.bulk_update(
        [each for each in moved if (each.migration_id, each.side, each.week_on) not in taken], ["week_on"]
    )


# --- what the migration page shows --------------------------------------------------------------------


@dataclass(frozen=True)
class SideState:
    side: str
    label: str
    this_week: CheckIn | None
    latest: CheckIn | None


@dataclass(frozen=True)
class CheckInState:
    """A migration's check-ins on a day: this week's check-in day, each side's check-in for it and
    latest one, and whether the check-in is missed."""

    week_on: date
    next_on: date
    weekday: str
    sides: list[SideState]
    missed: bool
    last_on: date | None
    is_under_way: bool

    @property
    def days_since(self) -> int | None:
        return None if self.last_on is None else (timezone.localdate() - self.last_on).days


def of_migration(migration: PracticeMigration) -> list[CheckIn]:
    """The migration's check-ins, latest week first, with who gave each, as its `check_ins` give
    them: one query, written by the ORM once per process (models/compiled.py), as the migration's
    page reads it every time."""
    check_ins = _OF_MIGRATION.objects(migration_id=migration.pk)
    for check_in in check_ins:
        check_in.migration = migration  # as the related manager sets it
    return check_ins


_OF_MIGRATION = CompiledSelect(
    CheckIn,
    lambda migration_id: CheckIn.objects.filter(migration_id=migration_id).select_related("given_by"),
    migration_id=int,
)


def state_of(migration: PracticeMigration, check_ins: list[CheckIn], today: date) -> CheckInState:
    """From the migration (with its practice's delivery partner and its ChecklistProgress) and its
    check-ins, newest first."""
    weekday = weekday_of(migration.practice)
    week_on = week_of(today, weekday)
    progress = getattr(migration, "progress", None)
    last_on = progress.last_check_in_on if progress else None
    sides = []
    for side in CheckInSide:
        own = [check_in for check_in in check_ins if check_in.side == side]
        this_week = next((check_in for check_in in own if check_in.week_on == week_on), None)
        sides.append(SideState(side.value, side.label, this_week, own[0] if own else None))
    return CheckInState(
        week_on=week_on,
        next_on=week_on + timedelta(days=7),
        weekday=Weekday(weekday).label,
        sides=sides,
        missed=is_missed(
            status=migration.status,
            last_on=last_on,
            from_on=progress.check_ins_from_on if progress else None,
            today=today,
        ),
        last_on=last_on,
        is_under_way=migration.status == MigrationStatus.ACTIVE,
    )
