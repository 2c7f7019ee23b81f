"""A migration's copied checklist: its phases and items, and the progress kept beside them (the
event log they write is events.py). Practice migrations (practice_migrations.py) sit above this module: it names
PracticeMigration only by its label, and imports nothing of it."""

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, models, transaction
from django.db.models import Count, F, Min, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import cached_property

from migrations_app import scheduling
from migrations_app.item_urls import ItemUrls, items_base
from migrations_app.models.choices import (
    OPEN_STATUSES,
    CheckInRag,
    Condition,
    ItemKind,
    ItemStatus,
    Milestone,
    Role,
)
from migrations_app.models.compiled import CompiledInsert, CompiledUpdate
from migrations_app.models.events import Event
from migrations_app.models.expressions import InPairs

PRACTICE_MIGRATION = "migrations_app.PracticeMigration"
# The guide's last gate: signing it completes the migration, reopening it makes it active again
# (PracticeMigration.follow_completion_gate).
COMPLETION_GATE_KEY = "migration-complete"

# Counting over the `items` join bypasses ChecklistItem's manager: leave archived items out by hand.
LIVE_ITEMS = Q(items__archived_at__isnull=True)


class StaleItemError(ValidationError):
    """The item changed since the form was loaded; nothing was saved."""

    def __init__(self) -> None:
        super().__init__(
            "This item was changed since you opened the page (by someone else, or by you in another tab or "
            "window). Check the item as it is now, then try again."
        )


def date_text(value: date | None) -> str:
    return value.isoformat() if value else ""


def owner_text(owner) -> str:
    """How an OWNER event records an owner: name and e-mail address; "" for the responsible role."""
    return f"{owner} ({owner.email})" if owner is not None else ""


class LiveManager(models.Manager):
    """Leaves out what a checklist upgrade archived. The default manager, so `migration.items`,
    `migration.phases` and every `ChecklistItem.objects` query (checklist page, progress, dashboard,
    reminders, calendar feed, gates, replanning) see only the live checklist; `all_objects` sees
    the archived rows too (upgrades, the archived items' history)."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(archived_at__isnull=True)


class AllRowsManager(models.Manager):
    """Every row, archived ones too: for upgrades and the history of archived items."""


class MigrationPhase(models.Model):
    migration = models.ForeignKey(PRACTICE_MIGRATION, on_delete=models.CASCADE, related_name="phases")
    key = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    # Set when an upgrade drops the phase while it still holds archived items (kept for their history).
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = LiveManager()
    all_objects = AllRowsManager()

    class Meta:
        ordering = ["migration", "position"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "key"], name="migrationphase_unique_key"),
        ]

    def __str__(self) -> str:
        return self.title


def condition_reason(condition: str) -> str:
    """The reason an item reads as not applicable because its condition does not hold."""
    return f"Applies only when: {Condition(condition).label.lower()}."


# An item's due date, or the end of time when it has none yet: "not due yet" is one range.
DUE_OR_NEVER = Coalesce("due_on", Value(date.max))


class ChecklistItemQuerySet(models.QuerySet):
    def open(self) -> "ChecklistItemQuerySet":
        """Items still to do or blocked: the ones that can fall overdue."""
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, on: date) -> "ChecklistItemQuerySet":
        """Open items whose due date is before `on`."""
        return self.open().filter(due_on__lt=on)

    def next_due_candidates(self, next_due_on: dict[int, date]) -> models.QuerySet:
        """The open items that may be each migration's next item due: those of the given
        migrations due on their own given date (the caller keeps, per migration, the first one).
        One condition per date, naming the migrations whose next item falls due on it, so only
        those items are read (not every item of those migrations due on any of the dates). On
        PostgreSQL the dashboard asks next_due_in_step() instead, one statement for any number."""
        by_date: dict[date, list[int]] = {}
        for migration_id, due_on in next_due_on.items():
            by_date.setdefault(due_on, []).append(migration_id)
        due_on_their_date = Q(pk__in=[])
        for due_on, migration_ids in by_date.items():
            due_on_their_date |= Q(due_on=due_on, migration_id__in=migration_ids)
        return self._first_due(self.open().filter(due_on_their_date))

    def next_due_in_step(self, migration_ids: list[int], due_dates: list[date]) -> models.QuerySet:
        """On PostgreSQL, next_due_candidates() of the migrations `migration_ids`, each due on the
        date in the same place of `due_dates`: one statement whatever their number (InPairs), so
        that it is written and planned once (models/compiled.py). The dashboard's page of 50 rows
        took the ORM about a millisecond to write as one condition per date, and PostgreSQL 0.6 ms
        to plan, for 0.3 ms of reading (EXPLAIN ANALYZE on the national bench data)."""
        return self._first_due(self.open().filter(InPairs("migration_id", "due_on", migration_ids, due_dates)))

    def _first_due(self, candidates: models.QuerySet) -> models.QuerySet:
        candidates = candidates.order_by("migration_id", "due_on", "phase__position", "position")
        if connections[self.db].features.can_distinct_on_fields:
            # PostgreSQL sends the first of each migration's only: on go-live day a migration has
            # a dozen items due, and a CSV chunk's 200 migrations held them all (1.5 MB at worst).
            candidates = candidates.distinct("migration_id")
        return candidates

    def hand_back_to_role(self, *, by, owner, reason: str = "") -> int:
        """Give the items of this queryset that `owner` owns back to their responsible role: an
        OWNER event each (by `by`, with `reason`, such as "No longer a member of <practice>"), and
        each revision bumped so that forms opened before are stale. Returns how many.

        For when a person stops relating to a practice (removed from it, its delivery partner or
        its ICB): narrow the queryset to the items of the practices they no longer relate to, and
        call it in the transaction that removes the membership, after removing it. The items are
        locked; an assign_owner() naming that person at the same moment either committed first
        (its item is handed back here) or waits on the membership row and is refused once it is
        gone (see ChecklistItem.assign_owner)."""
        with transaction.atomic():
            handed = list(
                self.model.all_objects.select_for_update()
                .filter(pk__in=self.filter(owner=owner).values("pk"), owner=owner)
                .only("pk", "migration_id")
                .order_by("pk")  # no join to order by phase (it would lock the phases too)
            )
            self.model.all_objects.filter(pk__in=[item.pk for item in handed]).update(
                owner=None, revision=F("revision") + 1
            )
            Event.objects.bulk_create(
                Event(
                    migration_id=item.migration_id,
                    item=item,
                    actor=by,
                    kind=Event.Kind.OWNER,
                    field="owner",
                    old_value=owner_text(owner),
                    reason=reason.strip(),
                )
                for item in handed
            )
        return len(handed)


class LiveChecklistItemManager(LiveManager.from_queryset(ChecklistItemQuerySet)):
    pass


class ChecklistItem(models.Model):
    """One task or sign-off gate of a migration, copied from the template when it was made."""

    # No index of their own on the migration or the key: every query by either names the migration,
    # and checklistitem_unique_key (migration, key) serves it. Each index is work on every insert and
    # every due-date change (an import starts thousands of migrations of 131 items).
    migration = models.ForeignKey(PRACTICE_MIGRATION, on_delete=models.CASCADE, related_name="items", db_index=False)
    phase = models.ForeignKey(MigrationPhase, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=100, db_index=False)
    title = models.CharField(max_length=500)
    group = models.CharField(max_length=500, blank=True)
    guide_url = models.URLField("guide link", max_length=500, blank=True)
    responsible_role = models.CharField(max_length=32, choices=Role.choices)
    anchor = models.CharField("anchor milestone", max_length=32, choices=Milestone.choices)
    offset_days = models.IntegerField()
    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.TASK)
    condition = models.CharField(max_length=32, choices=Condition.choices, blank=True)
    # A gate's items to wait for, by key; None: every earlier item of its phase (ItemTemplate.depends_on).
    depends_on = models.JSONField("waits for", null=True, blank=True)
    position = models.PositiveIntegerField()

    due_on = models.DateField(null=True, blank=True)
    manual_due_on = models.DateField(
        null=True, blank=True, help_text="Set by hand: replanning leaves this item's date alone."
    )
    # A named person holding a role on the migration's practice; empty means whoever holds the
    # responsible role (the default).
    # Indexed where set only (checklistitem_owner, checklistitem_completed_by): most items have neither.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_items",
        db_index=False,
    )
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.TO_DO)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # Who marked the item blocked or not applicable, and when: its row says so beside the reason.
    # Empty otherwise, and for an item a condition closed when its checklist was made.
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    marked_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    reason = models.TextField(blank=True, help_text="Why the item is not applicable or blocked.")
    override_reason = models.TextField(blank=True, help_text="Why a gate was signed with earlier items open.")
    # Bumped on every change, so a form loaded before someone else's change is detected as stale.
    revision = models.PositiveIntegerField(default=0)
    # Set when a checklist upgrade drops an item that was worked on: kept with its history, left out
    # of the checklist, progress, dashboards, reminders and the calendar (see LiveManager).
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = LiveChecklistItemManager()
    all_objects = ChecklistItemQuerySet.as_manager()

    # What _lock() locks: the item and its migration's row (ChecklistProgress relies on the latter).
    LOCKED_WITH = ("self", "migration")
    # Read under lock by the caller, for the next change (hold_for_change); not stored.
    _held = False
    # The gates a change that closed this item made ready to sign, worked out by the caller in the
    # change's transaction from the checklist as the change left it (views/items.py does, from the
    # items its answer reads): the sign-off requests then need no query of their own. None: they
    # work them out once the transaction commits. Not stored.
    gates_made_ready: list[int] | None = None

    class Meta:
        ordering = ["phase__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "key"], name="checklistitem_unique_key"),
            models.CheckConstraint(condition=Q(status__in=ItemStatus.values), name="checklistitem_status_valid"),
            models.CheckConstraint(condition=Q(responsible_role__in=Role.values), name="checklistitem_role_valid"),
            models.CheckConstraint(condition=Q(anchor__in=Milestone.values), name="checklistitem_anchor_valid"),
            models.CheckConstraint(condition=Q(kind__in=ItemKind.values), name="checklistitem_kind_valid"),
            models.CheckConstraint(
                condition=Q(condition="") | Q(condition__in=Condition.values), name="checklistitem_condition_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="done", completed_by__isnull=False, completed_at__isnull=False)
                | (~Q(status="done") & Q(completed_by__isnull=True, completed_at__isnull=True)),
                name="checklistitem_done_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ItemStatus.NOT_APPLICABLE, ItemStatus.BLOCKED]) | ~Q(reason=""),
                name="checklistitem_reason_required",
            ),
            models.CheckConstraint(
                condition=Q(manual_due_on__isnull=True) | Q(due_on__isnull=False, due_on=F("manual_due_on")),
                name="checklistitem_manual_date_is_due_date",
            ),
        ]
        indexes = [
            # Overdue and due-soon look-ups scan open items by date.
            models.Index(fields=["status", "due_on"], name="checklistitem_status_due"),
            # A person's items ("My items", removing someone) and what they ticked (a user's PROTECT):
            # only the items that name someone, so starting a checklist adds nothing to either.
            models.Index(fields=["owner"], condition=Q(owner__isnull=False), name="checklistitem_owner"),
            models.Index(
                fields=["completed_by"], condition=Q(completed_by__isnull=False), name="checklistitem_completed_by"
            ),
            models.Index(fields=["marked_by"], condition=Q(marked_by__isnull=False), name="checklistitem_marked_by"),
            # A migration's day figures (DayCounts; ChecklistProgress.count_day and, for a row not
            # counted for today, the dashboard's own query) read its overdue items with their kind
            # (gates count apart) and its next item due from this index alone: its open items in
            # date order. Per migration, one range (overdue) and one look-up (next due).
            models.Index(
                fields=["migration", "due_on"],
                include=["kind"],
                condition=Q(status__in=list(OPEN_STATUSES), archived_at__isnull=True),
                name="checklistitem_open_migration",
            ),
            # And its items done ahead of their due date (due from today on, or with no date yet,
            # as the end of time so that "not due yet" is one range): done items are half of a
            # checklist; by migration and that date, the few are one range of this index.
            models.Index(
                F("migration"),
                DUE_OR_NEVER,
                condition=Q(status="done", archived_at__isnull=True),
                name="checklistitem_done_migration",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def condition_reason(self) -> str:
        return condition_reason(self.condition)

    @property
    def role_in_a_sentence(self) -> str:
        """The responsible role as a sentence reads it: "practice manager", "ICB lead"."""
        label = Role(self.responsible_role).label
        return label if label.split()[0].isupper() else label[0].lower() + label[1:]

    @cached_property
    def urls(self) -> ItemUrls:
        """The item's addresses (item_urls.ItemUrls). checklist.build gives every item of a page
        one shared base instead, which saves reversing it for each."""
        return ItemUrls.of(items_base(self.migration_id), self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_gate(self) -> bool:
        return self.kind == ItemKind.GATE

    @property
    def is_completion_gate(self) -> bool:
        return self.is_gate and self.key == COMPLETION_GATE_KEY

    @property
    def due_rule(self) -> str:
        """When the item falls due, in words: "1 week before initial data production (IDP)"."""
        return scheduling.due_rule(self.anchor, self.offset_days)

    @property
    def due_date_moved_from(self) -> str:
        """Why the due date is not its milestone plus the offset, as the item shows it: "moved from
        Sunday 20 December, a weekend" (scheduling.due_date puts due dates on working days); "" when
        it was not moved, or was set by hand. Reads the migration's milestones from `migration`, so
        pages set it on each item from the one they loaded."""
        if self.manual_due_on is not None:
            return ""
        return scheduling.moved_from_text(self.due_on, self.migration.milestone_dates(), self.anchor, self.offset_days)

    def dependencies(self) -> "ChecklistItemQuerySet":
        """The items a gate waits for: those its data names (`depends_on`, in any phase), or for a
        gate that names none (the first edition of the guide data), the earlier items of its phase."""
        if self.depends_on is None:
            return ChecklistItem.objects.filter(phase_id=self.phase_id, position__lt=self.position)
        return ChecklistItem.objects.filter(migration_id=self.migration_id, key__in=self.depends_on)

    def open_dependencies(self) -> "ChecklistItemQuerySet":
        """The items a gate waits for that are still open, in checklist order."""
        return self.dependencies().open().order_by("phase__position", "position")

    def waits_for(self, other: "ChecklistItem") -> bool:
        """Whether this gate waits for `other`, an item of its migration: `dependencies()`, for
        items already in hand (the migration page, the gates an item's change makes ready)."""
        if self.depends_on is None:
            return other.phase_id == self.phase_id and other.position < self.position
        return other.key in self.depends_on

    @staticmethod
    def open_waited_for(gates: Iterable["ChecklistItem"], open_items: list["ChecklistItem"]) -> dict[int, int]:
        """For each of `gates` (by id), how many of `open_items` (the open items of its migration,
        in hand) it waits for: `waits_for` counted for every gate at once, without a call for each
        gate and item (the migration page and a tick's answer count them for every gate)."""
        open_keys = {item.key for item in open_items}
        positions: dict[int, list[int]] = {}
        for item in open_items:
            positions.setdefault(item.phase_id, []).append(item.position)
        for each in positions.values():
            each.sort()
        return {
            gate.pk: (
                bisect_left(positions.get(gate.phase_id, ()), gate.position)
                if gate.depends_on is None
                else len(open_keys.intersection(gate.depends_on))
            )
            for gate in gates
        }

    def complete(self, by) -> None:
        """Mark done. Done already (two people at once) is not an error, and changes nothing: the
        item keeps who did it first, and the log has no second entry. Once the transaction
        commits, a gate this made ready to sign has its signers e-mailed at once."""
        self._change(by, status=ItemStatus.DONE)
        self._request_sign_offs_on_commit()

    def _request_sign_offs_on_commit(self) -> None:
        """Closing an item (done, not applicable, or a gate signed) can leave a later gate of its
        phase with nothing open before it: once the transaction commits, that gate's signers are
        e-mailed at once rather than at the next digest. The reminders package does it
        (reminders/sign_offs.py); it builds on these models, so they reach it through the app's
        config (apps.py) rather than import it. Which gates: `gates_made_ready` when the caller
        set it before the commit, else worked out then (reminders.due.gates_made_ready_by)."""
        config = apps.get_app_config("migrations_app")
        # robust: the item stays closed whatever happens to the e-mail (a broker that is down).
        item_id = self.pk
        # Read when the transaction commits: the caller may have set it after this change.
        transaction.on_commit(lambda: config.queue_sign_off_requests(item_id, self.gates_made_ready), robust=True)

    def reopen(self, by, *, reason: str = "", expected_revision: int | None = None) -> None:
        """Back to "to do". An optional `reason` (why it is worked on again) is kept in the log."""
        self._change(by, status=ItemStatus.TO_DO, reason=reason, expected_revision=expected_revision)

    def mark_not_applicable(
        self, by, reason: str, *, expected_revision: int | None = None, by_condition: bool = False
    ) -> None:
        """Not applicable, with the `reason`. A gate is refused while items it waits for are open
        (marked so, it would pass over them unlike a sign-off, which asks for a reason for that):
        they are finished or marked not applicable first. Unless `by_condition`: a condition of
        the migration that does not hold closes the gate with the items that depend on it."""
        if self.is_gate and not by_condition:
            self._refuse_while_waiting("reason", "Finish {them} or mark {them} not applicable first.")
        self._change(by, status=ItemStatus.NOT_APPLICABLE, reason=reason, expected_revision=expected_revision)
        self._request_sign_offs_on_commit()

    def _refuse_while_waiting(self, field: str, what_to_do: str) -> None:
        """Refuse (a ValidationError on `field`) while items this gate waits for are open, saying how
        many and `what_to_do` ("{them}": it or them). The count, not the titles: the page lists the
        open items beside the form, once each."""
        waiting = self.open_dependencies().count()
        if waiting:
            items = "1 item" if waiting == 1 else f"{waiting} items"
            them = "it" if waiting == 1 else "them"
            raise ValidationError({field: f"This gate waits for {items} still open. {what_to_do.format(them=them)}"})

    def mark_blocked(self, by, reason: str, *, expected_revision: int | None = None) -> None:
        self._change(by, status=ItemStatus.BLOCKED, reason=reason, expected_revision=expected_revision)

    def sign_off(self, by, *, override_reason: str = "", expected_revision: int | None = None) -> None:
        """Sign a gate. Refused while items it waits for (`dependencies`) are open, unless an
        override reason is given; the reason is kept on the item and in the log."""
        if not self.is_gate:
            raise ValidationError("Only a sign-off gate can be signed off.")
        override_reason = override_reason.strip()
        if not override_reason:
            self._refuse_while_waiting(
                "override_reason", "Finish {them} first, or give a reason for signing off anyway."
            )
        self._change(
            by,
            status=ItemStatus.DONE,
            override_reason=override_reason,
            expected_revision=expected_revision,
            kind=Event.Kind.SIGN_OFF,
        )
        self._request_sign_offs_on_commit()

    def set_note(self, by, note: str, *, expected_revision: int | None = None) -> bool:
        """Set the note; False (and nothing written) when it is the note already."""
        with self._transaction():
            item = self._lock(expected_revision)
            old_note, item.note = item.note, note.strip()
            if old_note == item.note:
                return False
            item.revision += 1
            item.save(update_fields=["note", "revision"])
            Event.objects.create(
                migration_id=item.migration_id,
                item=item,
                actor=by,
                kind=Event.Kind.NOTE,
                field="note",
                old_value=old_note,
                new_value=item.note,
            )
        self._copy_from(item)
        return True

    def set_due_date(self, by, due_on: date | None, *, reason: str = "", expected_revision: int | None = None) -> bool:
        """Set a due date by hand (replanning then leaves it alone), or clear it (None) to go
        back to the date computed from the item's milestone. False, with nothing saved or logged,
        when the item already had it so."""
        with transaction.atomic():
            item = self._lock(expected_revision)
            old_due_on = item.due_on
            new_due_on = due_on or scheduling.due_date(item.migration.milestone_dates(), item.anchor, item.offset_days)
            if (item.manual_due_on, old_due_on) == (due_on, new_due_on):
                return False
            item.manual_due_on = due_on
            item.due_on = new_due_on
            item.revision += 1
            item.save(update_fields=["manual_due_on", "due_on", "revision"])
            ChecklistProgress.count_day(timezone.localdate(), [item.migration_id])
            Event.objects.create(
                migration_id=item.migration_id,
                item=item,
                actor=by,
                kind=Event.Kind.DUE_DATE,
                field="due_on",
                old_value=date_text(old_due_on),
                new_value=date_text(item.due_on),
                reason=reason.strip(),
            )
        self._copy_from(item)
        return True

    def assign_owner(
        self, by, owner, *, memberships: models.QuerySet | None = None, expected_revision: int | None = None
    ) -> None:
        """Name `owner` as the person who owns this item, or give it back to its responsible role
        (None): an OWNER event, and the revision bumped. The same owner again changes nothing.

        Only someone holding a role on the item's practice may own it. That is access.py's rule,
        and the models import nothing of access.py (it builds on them): the caller passes
        `memberships`, access.owner_memberships(item). The owner's rows among them are locked and
        checked here, in the item's transaction, so that removing that membership at the same
        moment either waits for this and then hands the item back (hand_back_to_role), or goes
        first and this is refused (ValidationError on "owner")."""
        if owner is not None and memberships is None:
            raise TypeError("Naming an owner needs the memberships that may own the item (access.owner_memberships).")
        with self._transaction():
            item = self._lock(expected_revision)
            if item.owner_id == (owner.pk if owner is not None else None):
                self._copy_from(item)
                return
            if owner is not None:
                # of=("self",): lock the membership rows, not the users joined to check they are active
                # (read as rows: exists() would drop the OF clause).
                held = list(memberships.select_for_update(of=("self",)).filter(user_id=owner.pk).only("pk"))
                if not owner.is_active or not held:
                    raise ValidationError({"owner": f"{owner} holds no role at this practice, so cannot own it."})
            old_owner = item.owner
            item.owner = owner
            item.revision += 1
            item.save(update_fields=["owner", "revision"])
            Event.objects.create(
                migration_id=item.migration_id,
                item=item,
                actor=by,
                kind=Event.Kind.OWNER,
                field="owner",
                old_value=owner_text(old_owner),
                new_value=owner_text(owner),
            )
        self._copy_from(item)

    def hold_for_change(self) -> None:
        """Say that this instance, with its migration, was read under lock (select_for_update(of=
        LOCKED_WITH)) in the transaction the caller holds open, for one change: that change then
        uses it as read instead of reading it again, and runs in the caller's transaction rather
        than a savepoint of its own, so that its failure (a stale revision, a refusal) rolls the
        whole transaction back; the caller lets the error out of its `atomic` block and reads the
        item again to answer (views/items.py)."""
        self._held = True

    def _transaction(self) -> transaction.Atomic:
        """The change's transaction: its own (a savepoint inside the caller's, if any), or the
        caller's when the item is held for it (hold_for_change)."""
        return transaction.atomic(savepoint=not self._held)

    def _lock(self, expected_revision: int | None) -> "ChecklistItem":
        if self._held:
            self._held = False  # for one change
            item = self
        else:
            item = ChecklistItem.objects.select_for_update().select_related("migration").get(pk=self.pk)
        if expected_revision is not None and item.revision != expected_revision:
            raise StaleItemError()
        return item

    def _change(
        self,
        by,
        *,
        status: str,
        reason: str = "",
        override_reason: str = "",
        expected_revision: int | None = None,
        kind: str = "status",
    ) -> None:
        reason = reason.strip()
        if status in (ItemStatus.NOT_APPLICABLE, ItemStatus.BLOCKED) and not reason:
            label = ItemStatus(status).label.lower()
            raise ValidationError({"reason": f"Give a reason why this item is {label}."})
        with self._transaction():
            item = self._lock(expected_revision)
            old_status = item.status
            # Only these two statuses keep their reason on the item; a reopen's is only logged.
            keeps_reason = status in (ItemStatus.NOT_APPLICABLE, ItemStatus.BLOCKED)
            changed = old_status != status or (keeps_reason and item.reason != reason)
            if not changed:
                self._copy_from(item)
                return
            item.status = status
            item.reason = reason if keeps_reason else ""
            now = timezone.now()
            if status == ItemStatus.DONE:
                item.completed_by, item.completed_at = by, now
                item.override_reason = override_reason
            else:
                item.completed_by, item.completed_at, item.override_reason = None, None, ""
            item.marked_by, item.marked_at = (by, now) if keeps_reason else (None, None)
            item.revision += 1
            _save_status(item)
            ChecklistProgress.record_change(item.migration_id, old_status, status)
            if item.is_completion_gate and ItemStatus.DONE in (old_status, status):
                # The migration's status follows this gate in the same transaction; refused
                # (a migration on hold cannot complete), the gate's change is undone with it.
                item.migration.follow_completion_gate(by, signed=status == ItemStatus.DONE)
            _log_status(item, by, now, kind, old_status, reason or override_reason)
        self._copy_from(item)

    def _copy_from(self, item: "ChecklistItem") -> None:
        for field in (
            "status",
            "reason",
            "completed_by_id",
            "completed_at",
            "marked_by_id",
            "marked_at",
            "override_reason",
            "note",
            "due_on",
            "manual_due_on",
            "owner_id",
            "revision",
        ):
            setattr(self, field, getattr(item, field))


@dataclass
class Progress:
    """How far a checklist (or a phase of one) has got: the one definition of progress. An item is
    applicable unless it is marked not applicable, and done when it is done; blocked items are
    counted too (they are applicable and open). Archived items count for nothing: callers count
    live items only. ChecklistProgress keeps these counts per migration (the home page and the
    dashboard read them); the migration page counts each phase of the items it has loaded."""

    done: int = 0
    applicable: int = 0
    blocked: int = 0

    @classmethod
    def of(cls, statuses: Iterable[str]) -> "Progress":
        progress = cls()
        for status in statuses:
            progress.add(status)
        return progress

    def add(self, status: str, times: int = 1) -> None:
        """Count one item with `status` (`times=-1` takes it away again)."""
        self.done += times * (status == ItemStatus.DONE)
        self.applicable += times * (status != ItemStatus.NOT_APPLICABLE)
        self.blocked += times * (status == ItemStatus.BLOCKED)

    @property
    def percent(self) -> int:
        """Done as a whole percentage of applicable, halves rounded up (12.5 is 13); a checklist
        with nothing applicable is complete. In whole numbers, as the dashboard's SQL (rows.PERCENT)."""
        return (200 * self.done + self.applicable) // (2 * self.applicable) if self.applicable else 100


# Progress's rule over the `items` join, for counting in the database (ChecklistProgress.recount).
DONE_ITEMS = LIVE_ITEMS & Q(items__status=ItemStatus.DONE)
APPLICABLE_ITEMS = LIVE_ITEMS & ~Q(items__status=ItemStatus.NOT_APPLICABLE)
BLOCKED_ITEMS = LIVE_ITEMS & Q(items__status=ItemStatus.BLOCKED)


class ChecklistProgress(models.Model):
    """How many of a migration's items are done, apply and are blocked, and its current phase (the
    first with an open item), kept beside the items so that a dashboard across thousands of
    migrations reads four numbers per migration instead of going through every item (784k at
    national scale) on each page.

    Transactions: kept right by the only code that creates items or changes their status, in the
    same transaction as the change. `PracticeMigration.instantiate()` creates the row;
    `ChecklistItem._change()` (complete, reopen, not applicable, blocked, sign-off) calls
    `record_change()`, one UPDATE that adds the difference to the counts with F() expressions (so
    concurrent changes add up) and works the phase out again from the open items. That UPDATE runs
    after `ChecklistItem._lock()` has locked the migration's row (select_for_update over
    select_related), so changes to one migration's items queue one after another and each sees the
    ones before it. A row of its own rather than fields on PracticeMigration, so that a full save()
    of a migration loaded earlier (the admin's change form does one) can never write back stale
    values. Any new code that adds or removes items or changes their status must update it too;
    `recount()` rebuilds rows from the items (bulk loads, repairs, tests)."""

    migration = models.OneToOneField(
        PRACTICE_MIGRATION, on_delete=models.CASCADE, primary_key=True, related_name="progress"
    )
    items_done = models.PositiveIntegerField(default=0)
    items_applicable = models.PositiveIntegerField(default=0)
    items_blocked = models.PositiveIntegerField(default=0)
    phase_position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Position of the first phase with an open item; empty when all are closed."
    )
    # The figures that change with the date as well as with the items (DayCounts), as they stood on
    # `counts_on`. The dashboard's RAG status, its filters, sort and summary are SQL over them; a
    # row counted on another day (or never) is counted again in the dashboard's own query (see
    # dashboard.rows.day_figures), so a missed refresh costs time, never a wrong figure.
    overdue = models.PositiveIntegerField(default=0)
    gates_overdue = models.PositiveIntegerField(default=0)
    done_ahead = models.PositiveIntegerField(default=0)
    next_due_on = models.DateField(null=True, blank=True)
    counts_on = models.DateField(
        null=True, blank=True, help_text="The day the overdue, done-ahead and next-due figures were counted for."
    )
    # The weekly check-ins' figures the dashboard reads with the row (models/checkins.py keeps them:
    # CheckIn.give): the day of the last check-in, the worst RAG status of each side's latest, and
    # the day check-ins started to count (the migration's start; for a migration started before
    # check-ins existed, the day they came in), from which a migration with none is missed.
    last_check_in_on = models.DateField(null=True, blank=True)
    check_in_rag = models.CharField(max_length=8, choices=CheckInRag.choices, blank=True)
    check_ins_from_on = models.DateField(default=timezone.localdate)

    class Meta:
        verbose_name_plural = "checklist progress"
        constraints = [
            # Done and blocked items are applicable, and none is both.
            models.CheckConstraint(
                condition=Q(items_done__lte=F("items_applicable") - F("items_blocked")),
                name="checklistprogress_counts_within_applicable",
            ),
            models.CheckConstraint(
                condition=Q(gates_overdue__lte=F("overdue")), name="checklistprogress_gates_within_overdue"
            ),
            models.CheckConstraint(
                condition=Q(check_in_rag__in=["", *CheckInRag.values]), name="checklistprogress_check_in_rag_valid"
            ),
        ]
        indexes = [
            # The nightly count (count_day) finds the rows counted before today.
            models.Index(fields=["counts_on"], name="checklistprogress_counts_on"),
        ]

    def __str__(self) -> str:
        return f"{self.items_done} of {self.items_applicable} done"

    @classmethod
    def record_change(cls, migration_id: int, old_status: str, new_status: str) -> None:
        """Apply one item's change of status. Call inside the transaction that saves the item,
        after it is saved. A change that opens or closes an item always changes a count, so the
        phase is worked out again whenever a count changes."""
        change = Progress()
        change.add(new_status)
        change.add(old_status, times=-1)
        if change == Progress():
            return
        updated = _RECORD_CHANGE.update(
            migration_id=migration_id,
            done=change.done,
            applicable=change.applicable,
            blocked=change.blocked,
            on=(today := timezone.localdate()),
            added_by=today - timedelta(days=CATCH_UP_DAYS),
        )
        if not updated:
            # A migration made before the counts existed and missed by the data migration: count it now.
            cls.recount([migration_id])

    @classmethod
    def recount(cls, migration_ids: list[int] | None = None) -> None:
        """Rebuild the counts and phases from the items, for the given migrations or all of them."""
        migrations = cls._meta.get_field("migration").related_model.objects.all()
        if migration_ids is not None:
            migrations = migrations.filter(pk__in=migration_ids)
        counts = (
            migrations.order_by()
            .annotate(
                done=Count("items", filter=DONE_ITEMS),
                applicable=Count("items", filter=APPLICABLE_ITEMS),
                blocked=Count("items", filter=BLOCKED_ITEMS),
                first_open_phase=Min("items__phase__position", filter=LIVE_ITEMS & Q(items__status__in=OPEN_STATUSES)),
            )
            .values_list("pk", "done", "applicable", "blocked", "first_open_phase")
        )
        cls.objects.bulk_create(
            [
                cls(
                    migration_id=pk,
                    items_done=done,
                    items_applicable=applicable,
                    items_blocked=blocked,
                    phase_position=phase,
                )
                for pk, done, applicable, blocked, phase in counts
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["migration"],
            update_fields=["items_done", "items_applicable", "items_blocked", "phase_position"],
        )
        cls.count_day(timezone.localdate(), migration_ids)

    @classmethod
    def count_day(cls, on: date, migration_ids: Iterable[int] | None = None) -> int:
        """Count the day figures (DayCounts) for `on`: of the given migrations, or of every one
        not yet counted for `on` (the nightly task, tasks.count_day). One UPDATE; returns how many
        rows it counted. Call inside the transaction of any change to items' due dates that does
        not go through record_change (a replan, a due date set by hand, an upgrade)."""
        rows = cls.objects.all()
        if migration_ids is None:
            rows = rows.exclude(counts_on=on)
        else:
            rows = rows.filter(migration_id__in=list(migration_ids))
        return rows.update(**day_count_updates(on))


CATCH_UP_DAYS = 14
"""A migration added to the tracker part way through (started or imported after some of its items
fell due) has this many days to record what was done before it was added: until then, a sign-off
gate that fell due before that day is overdue like any item (amber), not an overdue gate (red)."""


def catching_up(due_on: date, added_on: date, on: date) -> bool:
    """Whether an overdue gate due on `due_on`, of a migration added to the tracker on `added_on`,
    is still in the catch-up time on day `on` (CATCH_UP_DAYS), so not counted as an overdue gate."""
    return due_on < added_on and on < added_on + timedelta(days=CATCH_UP_DAYS)


@dataclass
class DayCounts:
    """A migration's figures that change with the date: on day `on`, its overdue items (open and
    due before `on`) and how many of them are sign-off gates (those in the catch-up time left
    out: `catching_up`), its items done ahead of plan (done, and due on or after `on` or not dated
    yet) and the first date from `on` on with an open item due. The one definition: `of()` counts
    items in hand, `day_count_subqueries()` the same in SQL."""

    overdue: int = 0
    gates_overdue: int = 0
    done_ahead: int = 0
    next_due_on: date | None = None

    @classmethod
    def of(cls, items: Iterable["ChecklistItem"], on: date, added_on: date) -> "DayCounts":
        """Counted on day `on` for a migration added to the tracker on `added_on`."""
        counts = cls()
        for item in items:
            if item.status in OPEN_STATUSES and item.due_on is not None:
                if item.due_on < on:
                    counts.overdue += 1
                    counts.gates_overdue += item.kind == ItemKind.GATE and not catching_up(item.due_on, added_on, on)
                elif counts.next_due_on is None or item.due_on < counts.next_due_on:
                    counts.next_due_on = item.due_on
            elif item.status == ItemStatus.DONE and (item.due_on is None or item.due_on >= on):
                counts.done_ahead += 1
        return counts


def day_count_subqueries(
    on: date, migration: models.Expression, added_by: date | None = None
) -> dict[str, models.Expression]:
    """DayCounts in SQL, one correlated subquery per figure, for the migration whose id is
    `migration` (an OuterRef). Each reads one range of an index of that migration's items:
    checklistitem_open_migration (open items by due date) or the migration's own items."""
    items = ChecklistItem.objects.filter(migration_id=migration).order_by().values("migration_id")
    overdue = items.overdue(on)

    def count(queryset, **condition) -> models.Expression:
        counted = queryset.annotate(count=Count("kind", **condition)).values("count")
        return Coalesce(models.Subquery(counted), 0)

    # A gate is counted unless it is catching_up: due before the day its migration was added (in
    # the service's time zone, as timezone.localdate reads it), a day after `added_by`, CATCH_UP_DAYS
    # before `on` (an argument of its own for a statement written once: compiled.py).
    if added_by is None:
        added_by = on - timedelta(days=CATCH_UP_DAYS)
    counted_gate = Q(kind=ItemKind.GATE) & (
        Q(due_on__gte=F("migration__created_at__date")) | Q(migration__created_at__date__lte=added_by)
    )
    return {
        "overdue": count(overdue),
        "gates_overdue": count(overdue, filter=counted_gate),
        "done_ahead": count(items.filter(status=ItemStatus.DONE).alias(due=DUE_OR_NEVER).filter(due__gte=on)),
        "next_due_on": models.Subquery(
            items.open().filter(due_on__gte=on).annotate(first=Min("due_on")).values("first")
        ),
    }


def day_count_updates(on: date, added_by: date | None = None) -> dict[str, models.Expression]:
    """The UPDATE of a ChecklistProgress row that counts its day figures for `on`."""
    return {**day_count_subqueries(on, models.OuterRef("migration_id"), added_by), "counts_on": on}


def _record_change(migration_id: int, done: int, applicable: int, blocked: int, on: date, added_by: date):
    """ChecklistProgress.record_change's UPDATE: the counts moved by one item's change, the day
    figures for `on` and the phase counted again."""
    return ChecklistProgress.objects.filter(migration_id=migration_id), dict(
        items_done=F("items_done") + done,
        items_applicable=F("items_applicable") + applicable,
        items_blocked=F("items_blocked") + blocked,
        **day_count_updates(on, added_by),
        phase_position=models.Subquery(
            ChecklistItem.objects.open()
            .filter(migration_id=migration_id)
            .order_by()
            .values("migration_id")
            .annotate(first=Min("phase__position"))
            .values("first")
        ),
    )


# Written by the ORM once (compiled.py): it runs on every tick.
_RECORD_CHANGE = CompiledUpdate(
    ChecklistProgress,
    _record_change,
    migration_id=int,
    done=int,
    applicable=int,
    blocked=int,
    on=date,
    added_by=date,
)


# An item's change of status, written by the ORM once (compiled.py), as item.save(update_fields=...)
# and Event.objects.create() would write them: every tick runs both, and the ORM writing them took
# most of the 0.41 CPU-ms a tick spent saving (0.11 once written: README, bench/capacity.py's
# figures). One UPDATE for each way a status is held:
# done (who and when), blocked or not applicable (who marked it, why), to do (neither).
def _status_update(**values):
    def write(item_id: int, revision: int, **arguments):
        return ChecklistItem.all_objects.filter(pk=item_id), {**values, **arguments, "revision": revision}

    return write


_DONE = CompiledUpdate(
    ChecklistItem,
    _status_update(status=ItemStatus.DONE, reason="", marked_by_id=None, marked_at=None),
    item_id=int,
    revision=int,
    completed_by_id=int,
    completed_at=datetime,
    override_reason=str,
)
_MARKED = CompiledUpdate(
    ChecklistItem,
    _status_update(completed_by_id=None, completed_at=None, override_reason=""),
    item_id=int,
    revision=int,
    status=str,
    reason=str,
    marked_by_id=int,
    marked_at=datetime,
)
_OPEN = CompiledUpdate(
    ChecklistItem,
    _status_update(
        status=ItemStatus.TO_DO,
        reason="",
        completed_by_id=None,
        completed_at=None,
        marked_by_id=None,
        marked_at=None,
        override_reason="",
    ),
    item_id=int,
    revision=int,
)


def _save_status(item: ChecklistItem) -> None:
    """Save `item`'s status and what goes with it (_change has set them): its status, reason,
    completion, marking, override reason and revision."""
    if item.status == ItemStatus.DONE and item.completed_by_id is not None:
        updated = _DONE.update(
            item_id=item.pk,
            revision=item.revision,
            completed_by_id=item.completed_by_id,
            completed_at=item.completed_at,
            override_reason=item.override_reason,
        )
    elif item.marked_by_id is not None:
        updated = _MARKED.update(
            item_id=item.pk,
            revision=item.revision,
            status=item.status,
            reason=item.reason,
            marked_by_id=item.marked_by_id,
            marked_at=item.marked_at,
        )
    elif item.status == ItemStatus.TO_DO and not item.reason:
        updated = _OPEN.update(item_id=item.pk, revision=item.revision)
    else:
        updated = None
        item.save(update_fields=STATUS_FIELDS)
    if updated == 0:
        raise DatabaseError("The item to change is gone.")


STATUS_FIELDS = [
    "status",
    "reason",
    "completed_by",
    "completed_at",
    "marked_by",
    "marked_at",
    "override_reason",
    "revision",
]


def _log_status(item: ChecklistItem, by, at: datetime, kind: str, old_status: str, reason: str) -> None:
    """The event of `item`'s change of status from `old_status`, by `by` (a person, or None for the
    service itself) at `at`."""
    values = {
        "migration_id": item.migration_id,
        "item_id": item.pk,
        "at": at,
        "kind": kind,
        "old_value": old_status,
        "new_value": item.status,
        "reason": reason,
    }
    if by is None:
        _status_event(actor_id=None, **values).save()
    else:
        _STATUS_EVENT.insert(actor_id=by.pk, **values)


def _status_event(**values) -> Event:
    return Event(field="status", **values)


_STATUS_EVENT = CompiledInsert(
    Event,
    _status_event,
    migration_id=int,
    item_id=int,
    actor_id=int,
    at=datetime,
    kind=str,
    old_value=str,
    new_value=str,
    reason=str,
)
