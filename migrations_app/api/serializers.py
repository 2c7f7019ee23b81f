"""What the API answers: a migration as the dashboard shows it (rows.Row, computed by
migrations_app/dashboard/rows.py, never here), and for one migration its phases as its page counts
them (checklist.build); its items, milestones and event log, and the organisations a person can
see. What a person may do comes from access (access.Access), worked out there. Dates are ISO 8601
(YYYY-MM-DD), times ISO 8601 with their offset."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from migrations_app import checklist
from migrations_app.dashboard.phases import DATES_NOT_AGREED, PHASE_STARTS
from migrations_app.dashboard.rag import Rag
from migrations_app.dashboard.rows import CLOSED_PHASE
from migrations_app.models import ItemKind, Milestone, PracticeMigration

PHASE_KEYS = [start.key for start in PHASE_STARTS] + [DATES_NOT_AGREED[0]]


class Systems(serializers.Serializer):
    source = serializers.CharField(help_text="The system the practice is leaving.")
    target = serializers.CharField(help_text="The system the practice is moving to.")


class Milestones(serializers.Serializer):
    idp_on = serializers.DateField(allow_null=True, help_text="Initial data production.")
    fdp_on = serializers.DateField(allow_null=True, help_text="Final data production (the cutover).")
    go_live_on = serializers.DateField(allow_null=True)
    old_system_access_end_on = serializers.DateField(allow_null=True)


class Status(serializers.Serializer):
    key = serializers.ChoiceField(choices=PracticeMigration.Status.choices, source="status")
    label = serializers.SerializerMethodField()
    reason = serializers.CharField(source="status_reason", help_text="Why on hold or cancelled; else empty.")

    def get_label(self, row) -> str:
        return PracticeMigration.Status(row.status).label


class CurrentPhase(serializers.Serializer):
    key = serializers.ChoiceField(choices=PHASE_KEYS, source="phase_key", help_text="The phase by dates.")
    title = serializers.CharField(source="phase_title")


class Checklist(serializers.Serializer):
    phase_key = serializers.CharField(
        source="checklist_phase_key", help_text=f'The first phase with an open item; "{CLOSED_PHASE[0]}" when none.'
    )
    phase_title = serializers.CharField(source="checklist_phase_title")
    phases_behind = serializers.IntegerField(
        source="checklist_behind",
        allow_null=True,
        help_text="Behind the current phase; null when dates are not agreed.",
    )
    summary = serializers.CharField(source="checklist_text")


class RowProgress(serializers.Serializer):
    done = serializers.IntegerField()
    applicable = serializers.IntegerField()
    percent = serializers.IntegerField(help_text="Done as a whole percentage of applicable; 100 with none applicable.")


class RagStatus(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[rag.value for rag in Rag], source="rag", allow_null=True, help_text="Null when on hold or cancelled."
    )
    label = serializers.CharField(source="rag_label")
    reason = serializers.CharField(source="rag_reason")


class NextItem(serializers.Serializer):
    due_on = serializers.DateField(source="next_due_on")
    title = serializers.CharField(source="next_item_title")
    id = serializers.IntegerField(source="next_item_pk")


class MigrationRow(serializers.Serializer):
    """One row of the dashboard (rows.Row)."""

    id = serializers.IntegerField(source="pk")
    url = serializers.SerializerMethodField()
    practice = serializers.CharField(source="practice_name")
    ods_code = serializers.CharField()
    icb = serializers.CharField(source="icb_name")
    delivery_partner = serializers.CharField(source="delivery_partner_name", allow_null=True)
    systems = Systems(source="*")
    milestones = Milestones(source="*")
    status = Status(source="*")
    current_phase = CurrentPhase(source="*")
    checklist = Checklist(source="*")
    progress = RowProgress(source="*")
    overdue = serializers.IntegerField(help_text="Open items past their due date.")
    blocked = serializers.IntegerField()
    rag = RagStatus(source="*")
    next_item_due = serializers.SerializerMethodField()

    def get_url(self, row) -> str:
        return self.context["request"].build_absolute_uri(reverse("api:migration_detail", kwargs={"pk": row.pk}))

    @extend_schema_field(NextItem(allow_null=True))
    def get_next_item_due(self, row) -> dict | None:
        return NextItem(row).data if row.next_item_pk is not None else None


def row_data(rows: list, request) -> list[dict]:
    """MigrationRow's answer for each of `rows`, built directly: a page of 100 rows through DRF's
    fields took about 20 ms of the page's 60. MigrationRow stays the schema, and
    tests/test_api.py holds the two to the same answer for every kind of row."""
    # One address resolved for the page; each row's differs only by its id (as item_urls does).
    template = request.build_absolute_uri(reverse("api:migration_detail", kwargs={"pk": 0}))
    prefix, suffix = template.rsplit("/0/", 1)
    return [
        {
            "id": row.pk,
            "url": f"{prefix}/{row.pk}/{suffix}",
            "practice": row.practice_name,
            "ods_code": row.ods_code,
            "icb": row.icb_name,
            "delivery_partner": row.delivery_partner_name,
            "systems": {"source": row.source, "target": row.target},
            "milestones": {
                "idp_on": _day(row.idp_on),
                "fdp_on": _day(row.fdp_on),
                "go_live_on": _day(row.go_live_on),
                "old_system_access_end_on": _day(row.old_system_access_end_on),
            },
            "status": {
                "key": row.status,
                "label": PracticeMigration.Status(row.status).label,
                "reason": row.status_reason,
            },
            "current_phase": {"key": row.phase_key, "title": row.phase_title},
            "checklist": {
                "phase_key": row.checklist_phase_key,
                "phase_title": row.checklist_phase_title,
                "phases_behind": row.checklist_behind,
                "summary": row.checklist_text,
            },
            "progress": {"done": row.done, "applicable": row.applicable, "percent": row.percent},
            "overdue": row.overdue,
            "blocked": row.blocked,
            "rag": {"status": row.rag.value if row.rag else None, "label": row.rag_label, "reason": row.rag_reason},
            "next_item_due": None
            if row.next_item_pk is None
            else {"due_on": _day(row.next_due_on), "title": row.next_item_title, "id": row.next_item_pk},
        }
        for row in rows
    ]


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


class PhaseProgress(serializers.Serializer):
    done = serializers.IntegerField()
    applicable = serializers.IntegerField()
    blocked = serializers.IntegerField()
    percent = serializers.IntegerField()


class Phase(serializers.Serializer):
    """A phase of the migration's checklist, counted as its page counts it (checklist.Phase)."""

    key = serializers.CharField(source="phase.key")
    title = serializers.CharField(source="phase.title")
    position = serializers.IntegerField(source="phase.position")
    progress = PhaseProgress()
    open = serializers.IntegerField(source="open_count", help_text="Items not closed (done or not applicable).")


class MigrationDetail(MigrationRow):
    phases = Phase(many=True)


class Problem(serializers.Serializer):
    """An error, as RFC 9457 problem details (problems.py)."""

    type = serializers.CharField(help_text='"about:blank": the status says what kind of problem it is.')
    title = serializers.CharField(help_text="The status's phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Each bad parameter with its messages (a 400 only).",
    )


# --- a migration's items, its milestones, its event log; the organisations a person can see -------------


class Choice(serializers.Serializer):
    """A stored value (`key`) and its label, as the pages show it."""

    key = serializers.CharField()
    label = serializers.CharField()


class Person(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="__str__")


class ItemPhase(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    key = serializers.CharField()
    title = serializers.CharField()


class YouMay(serializers.Serializer):
    """What the caller may do to the item, as its row on the page offers it (access.Access):
    nothing offered here ends in a 403."""

    work_on = serializers.BooleanField(help_text='Actions "complete" (not a gate) and "note".')
    change_status = serializers.BooleanField(help_text='Actions "not-applicable" and "blocked".')
    reopen = serializers.BooleanField(help_text='Action "reopen".')
    sign = serializers.BooleanField(help_text='Action "sign-off" (a gate).')


class Item(serializers.Serializer):
    """One checklist item, as its page shows it. The `revision` goes with every change to it."""

    id = serializers.IntegerField(source="pk")
    url = serializers.SerializerMethodField()
    migration = serializers.IntegerField(source="migration_id")
    key = serializers.CharField()
    title = serializers.CharField()
    group = serializers.CharField(help_text="The question the item answers with its group; else empty.")
    guide_url = serializers.CharField(help_text="Where the guide says how; else empty.")
    phase = ItemPhase()
    kind = serializers.ChoiceField(choices=ItemKind.choices, help_text='"gate": signed off rather than ticked.')
    responsible_role = serializers.SerializerMethodField()
    owner = Person(allow_null=True, help_text="Null: anyone in the responsible role.")
    status = serializers.SerializerMethodField()
    reason = serializers.CharField(help_text="Why not applicable or blocked; else empty.")
    note = serializers.CharField()
    override_reason = serializers.CharField(help_text="Why a gate was signed with items it waits for still open.")
    due_on = serializers.DateField(allow_null=True, help_text="Null while its milestone is not agreed.")
    due_rule = serializers.CharField(help_text='When it falls due, in words: "1 week before go-live".')
    due_date_set_by_hand = serializers.SerializerMethodField()
    due_state = serializers.SerializerMethodField()
    completed_by = Person(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    revision = serializers.IntegerField(help_text="Send it with a change: a change to an older one is a 409.")
    you_may = serializers.SerializerMethodField()

    def get_url(self, item) -> str:
        kwargs = {"pk": item.migration_id, "item_pk": item.pk}
        return self.context["request"].build_absolute_uri(reverse("api:item_detail", kwargs=kwargs))

    @extend_schema_field(Choice)
    def get_responsible_role(self, item) -> dict:
        return {"key": item.responsible_role, "label": item.get_responsible_role_display()}

    @extend_schema_field(Choice)
    def get_status(self, item) -> dict:
        return {"key": item.status, "label": item.get_status_display()}

    def get_due_date_set_by_hand(self, item) -> bool:
        return item.manual_due_on is not None

    @extend_schema_field(serializers.ChoiceField(choices=["overdue", "due_soon", ""]))
    def get_due_state(self, item) -> str:
        # As the page marks the item (checklist.marked): nothing of a migration on hold or cancelled is due.
        return "" if item.migration.is_paused else checklist.due_state(item, self.context["today"])

    @extend_schema_field(YouMay)
    def get_you_may(self, item) -> dict:
        item_access = self.context["access"]
        return {
            "work_on": item_access.can_work_on(item),
            "change_status": item_access.can_change_status(item),
            "reopen": item_access.can_reopen(item),
            "sign": item_access.can_sign(item),
        }


class ItemRef(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()


class Event(serializers.Serializer):
    """One entry of a migration's event log (models.Event): who changed what, when, from what to what."""

    id = serializers.IntegerField(source="pk")
    at = serializers.DateTimeField()
    kind = serializers.SerializerMethodField()
    actor = Person(allow_null=True, help_text="Null when the system made the change.")
    item = ItemRef(allow_null=True, help_text="Null for a change to the migration itself.")
    field = serializers.CharField(help_text="What changed: status, note, due_on, go_live_on...")
    old_value = serializers.CharField(help_text="As stored: a status key, an ISO 8601 date.")
    new_value = serializers.CharField()
    old_display = serializers.CharField(help_text="As the item's history shows it.")
    new_display = serializers.CharField()
    reason = serializers.CharField()

    @extend_schema_field(Choice)
    def get_kind(self, event) -> dict:
        return {"key": event.kind, "label": event.get_kind_display()}


class Organisation(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["delivery_partner", "icb", "practice"])
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField(allow_null=True, help_text="The ODS code of an ICB or a practice.")
    icb = serializers.IntegerField(source="icb_id", allow_null=True, help_text="A practice's ICB.")
    delivery_partner = serializers.IntegerField(
        source="delivery_partner_id", allow_null=True, help_text="A practice's delivery partner, if any."
    )


# Every milestone of a migration by its field's name, as `milestones` of a row names four of them.
MilestoneDates = type(
    "MilestoneDates",
    (serializers.Serializer,),
    {
        milestone.field_name: serializers.DateField(required=False, allow_null=True, help_text=milestone.label)
        for milestone in Milestone
    },
)


class MilestoneWarning(serializers.Serializer):
    milestone = serializers.CharField(help_text="The milestone's field.")
    message = serializers.CharField()


class MilestonesAsTheyStand(serializers.Serializer):
    milestones = MilestoneDates(help_text="Null: not agreed yet.")
    old_system_access_end_expected_on = serializers.DateField(
        allow_null=True, help_text="While the end of old system access is not agreed: go-live plus the guide's days."
    )
    warnings = MilestoneWarning(many=True, help_text="Allowed, but worth a second look.")
    may_change = serializers.BooleanField()


class MilestoneChange(serializers.Serializer):
    milestone = serializers.CharField(help_text="The milestone's field.")
    label = serializers.CharField()
    old_on = serializers.DateField(allow_null=True)
    new_on = serializers.DateField(allow_null=True)


class DueDateMove(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    title = serializers.CharField()
    old_due_on = serializers.DateField(allow_null=True)
    new_due_on = serializers.DateField(allow_null=True)


class MilestonesChanged(serializers.Serializer):
    preview = serializers.BooleanField(help_text="True: what would change; nothing was saved.")
    saved = serializers.BooleanField()
    milestones = MilestoneDates(help_text="The dates after the change.")
    changes = MilestoneChange(many=True)
    moves = DueDateMove(many=True, help_text="Open items whose due dates move with their milestone.")
    warnings = MilestoneWarning(many=True)
