"""Parsing what people type. Rules about the data stay on the models; forms turn input into
values and put the models' messages next to the right field."""

from dataclasses import dataclass
from datetime import date

from django import forms
from django.core.exceptions import ValidationError

from migrations_app import scheduling
from migrations_app.models import Milestone, PracticeMigration, TemplateVersion

REASON_MAX = 2000
NOTE_MAX = 5000


class RevisionForm(forms.Form):
    """Carries the item revision the page was rendered with, to spot a stale form."""

    revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class ReasonForm(RevisionForm):
    reason = forms.CharField(
        max_length=REASON_MAX,
        required=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Enter a reason"},
    )

    def __init__(self, *args, status_label: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if status_label:
            self.fields["reason"].error_messages["required"] = f"Enter a reason why this item is {status_label}"


class NoteForm(RevisionForm):
    note = forms.CharField(max_length=NOTE_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class SignOffForm(RevisionForm):
    override_reason = forms.CharField(
        label="Reason for signing off with earlier items open",
        max_length=REASON_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class UpgradeForm(forms.Form):
    """The template version the reviewer saw: the upgrade applies that version, never one
    published after the page was opened."""

    version = forms.ModelChoiceField(
        queryset=TemplateVersion.objects.published().select_related("template"),
        widget=forms.HiddenInput,
        error_messages={
            "required": "Choose the checklist version to upgrade to.",
            "invalid_choice": "That checklist version does not exist or is not published. Nothing was changed.",
        },
    )


@dataclass(frozen=True)
class DateParts:
    """One NHS.UK date input (day, month, year) as the form saw it."""

    name: str
    label: str
    day: str
    month: str
    year: str
    error: str


class MilestonesForm(forms.Form):
    """Every milestone as an NHS.UK date input (three boxes), plus an optional reason.

    Input arrives as `<milestone>-day`, `-month` and `-year`; all three empty means the date
    is not agreed yet.
    """

    reason = forms.CharField(
        label="Reason for the change (optional)",
        max_length=REASON_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, migration: PracticeMigration, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.migration = migration
        self.dates: dict[str, date | None] = {}
        self.date_errors: dict[str, str] = {}

    def date_inputs(self) -> list[DateParts]:
        inputs = []
        for milestone in Milestone:
            if self.is_bound:
                day, month, year = (
                    self.data.get(f"{milestone.value}-{part}", "").strip() for part in ("day", "month", "year")
                )
            else:
                current = getattr(self.migration, milestone.field_name)
                day, month, year = (str(current.day), str(current.month), str(current.year)) if current else ("",) * 3
            inputs.append(
                DateParts(milestone.value, milestone.label, day, month, year, self.date_errors.get(milestone.value, ""))
            )
        return inputs

    def clean(self) -> dict:
        cleaned = super().clean()
        for milestone in Milestone:
            parts = [self.data.get(f"{milestone.value}-{part}", "").strip() for part in ("day", "month", "year")]
            try:
                self.dates[milestone.value] = _parse_date(milestone.label, *parts)
            except ValidationError as error:
                self.date_errors[milestone.value] = error.messages[0]
        if not self.date_errors:
            for field, message in scheduling.milestone_order_errors(self.dates).items():
                self.date_errors[field.removesuffix("_on")] = message
        if self.date_errors:
            raise ValidationError("Check the dates")
        return cleaned

    def changes(self) -> dict[str, date | None]:
        """Only the milestones whose date differs from the migration's."""
        current = self.migration.milestone_dates()
        return {key: value for key, value in self.dates.items() if value != current[key]}


def _parse_date(label: str, day: str, month: str, year: str) -> date | None:
    if not (day or month or year):
        return None
    missing = [name for name, value in (("day", day), ("month", month), ("year", year)) if not value]
    if missing:
        raise ValidationError(f"{label} must include a {' and '.join(missing)}")
    if not (day.isdigit() and month.isdigit() and year.isdigit()) or len(year) != 4:
        raise ValidationError(f"{label} must be a real date, for example 27 3 2027")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise ValidationError(f"{label} must be a real date, for example 27 3 2027") from None
