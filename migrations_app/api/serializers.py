"""What the API answers, read only: a migration as the dashboard shows it (rows.Row, computed by
migrations_app/dashboard/rows.py, never here), and for one migration its phases as its page counts
them (checklist.build). Dates are ISO 8601 (YYYY-MM-DD)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from migrations_app.dashboard.phases import DATES_NOT_AGREED, PHASE_STARTS
from migrations_app.dashboard.rag import Rag
from migrations_app.dashboard.rows import CLOSED_PHASE
from migrations_app.models import PracticeMigration

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
