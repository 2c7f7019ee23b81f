"""Parsing what people type. Rules about the data stay on the models; forms turn input into
values and put the models' messages next to the right field."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dates import MONTHS

from migrations_app import scheduling
from migrations_app.models import (
    ChecklistItem,
    Condition,
    ItemStatus,
    Membership,
    Milestone,
    PracticeMigration,
    TemplateVersion,
    User,
)
from migrations_app.models.checkins import NOTE_MAX_LENGTH as CHECK_IN_NOTE_MAX
from migrations_app.models.choices import CheckInRag, CheckInSide, Weekday

REASON_MAX = 2000
NOTE_MAX = 5000
# What a reason or note too long is told, in the service's words rather than Django's default.
REASON_TOO_LONG = f"The reason must be {REASON_MAX:,} characters or fewer"
NOTE_TOO_LONG = f"The note must be {NOTE_MAX:,} characters or fewer"


class RevisionForm(forms.Form):
    """Carries the item revision the page was rendered with, to spot a stale form. The checklist
    page holds the forms of many items, so field ids end with the item's id (`reason-12`)."""

    revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, item: ChecklistItem, **kwargs) -> None:
        super().__init__(*args, auto_id=f"%s-{item.pk}", **kwargs)


class ReasonForm(RevisionForm):
    reason = forms.CharField(
        max_length=REASON_MAX,
        required=True,
        help_text="Needed to mark the item not applicable or blocked.",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": REASON_TOO_LONG, "required": "Enter a reason"},
    )

    def __init__(self, *args, status_label: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if status_label:
            self.fields["reason"].error_messages["required"] = f"Enter a reason why this item is {status_label}"


class NoteForm(RevisionForm):
    note = forms.CharField(
        max_length=NOTE_MAX,
        error_messages={"max_length": NOTE_TOO_LONG},
        required=False,
        help_text="What was done, by whom, or what is waited for. No patient details.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReopenForm(RevisionForm):
    """Reopening an item; a blocked or not applicable one with an optional reason, kept in its log."""

    reason = forms.CharField(
        label="Why reopen it? (optional)",
        max_length=REASON_MAX,
        error_messages={"max_length": REASON_TOO_LONG},
        required=False,
        help_text="For example, the supplier sent the extract after all. It is kept in the item's history.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, item: ChecklistItem, **kwargs) -> None:
        super().__init__(*args, item=item, **kwargs)
        # The reason's id differs from the not applicable form's, which shares the page.
        self.auto_id = self.auto_id.replace("%s", "reopen-%s")
        if item.is_gate and item.status == ItemStatus.DONE:
            reason = self.fields["reason"]
            reason.label = "Why reopen the sign-off? (optional)"
            reason.help_text = (
                "For example, a check after the sign-off found a problem. It is kept in the gate's history."
            )


class SignOffForm(RevisionForm):
    override_reason = forms.CharField(
        label="Reason for signing off before the items it waits for are finished",
        max_length=REASON_MAX,
        error_messages={"max_length": REASON_TOO_LONG},
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OwnerForm(RevisionForm):
    """Who owns an item: anyone in its responsible role (empty), or one of the people of
    `memberships` (access.owner_memberships, with their users), each offered once with their
    roles. Cleaned, `owner` is that User or None."""

    owner = forms.ChoiceField(
        label="Owner",
        required=False,
        error_messages={"invalid_choice": "Choose someone who holds a role at this practice. Nothing was changed."},
    )

    def __init__(self, *args, item: ChecklistItem, memberships: Iterable[Membership], **kwargs) -> None:
        super().__init__(*args, item=item, **kwargs)
        self.people: dict[str, User] = {}
        roles: dict[str, list[str]] = {}
        if item.is_gate:
            # access.owner_memberships offers only the people who may sign it.
            role = item.get_responsible_role_display().lower()
            self.fields["owner"].error_messages["invalid_choice"] = (
                f"Choose someone who can sign off this gate (the {role}). Nothing was changed."
            )
        for membership in memberships:
            self.people[str(membership.user_id)] = membership.user
            roles.setdefault(str(membership.user_id), []).append(membership.get_role_display())
        people = sorted(self.people.items(), key=lambda entry: (str(entry[1]).lower(), entry[1].email))
        self.fields["owner"].choices = [
            ("", f"{item.get_responsible_role_display()} (anyone in the role)"),
            *((key, f"{person} ({', '.join(roles[key])})") for key, person in people),
        ]

    def clean_owner(self) -> User | None:
        return self.people.get(self.cleaned_data["owner"])


class CodeForm(forms.Form):
    """A two-factor security code, as typed: spaces are dropped (apps show "123 456"), and it must
    be 6 digits. The length is checked once they are gone, so the box takes a code with its space."""

    code = forms.CharField(
        label="Security code",
        max_length=20,
        help_text="The 6-digit code your authenticator app shows now.",
        error_messages={"required": "Enter the 6-digit security code", "max_length": "Enter the 6 digits only"},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise forms.ValidationError("The security code is 6 digits, with no letters")
        if len(code) < 6:
            raise forms.ValidationError("Enter all 6 digits")
        if len(code) > 6:
            raise forms.ValidationError("Enter the 6 digits only")
        return code


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


PARTS = ("day", "month", "year")
# Milestone dates a migration can have: due dates are milestones plus or minus the guide's offsets,
# and the reminders count working days between them and today, so a year typed as 0001 or 9999
# would overflow the date arithmetic or make a digest walk thousands of years of bank holidays.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


@dataclass(frozen=True)
class DateParts:
    """One NHS.UK date input (day, month, year) as the form saw it. `error_parts` are the boxes
    to highlight: the ones that are wrong, or all three when the date as a whole is."""

    name: str
    label: str
    day: str
    month: str
    year: str
    error: str
    error_parts: frozenset[str] = frozenset()
    hint: str = ""  # when the input needs more than the usual "for example"

    @property
    def first_error_part(self) -> str:
        """The box the error summary links to."""
        return next((part for part in PARTS if part in self.error_parts), "day")


class DateInputError(ValidationError):
    """A date input's message, and which of its boxes are wrong."""

    def __init__(self, message: str, parts=PARTS) -> None:
        super().__init__(message)
        self.parts = frozenset(parts)


# Left empty, the end of old system access is expected a number of days after go-live
# (scheduling.expected_old_system_access_end); typing a date agrees it.
ACCESS_END_HINT = (
    "For example, 27 3 2027. Leave empty until it is agreed with the current supplier: until then it is "
    "expected {days} days after go-live."
)


class MilestonesForm(forms.Form):
    """Every milestone as an NHS.UK date input (three boxes), plus an optional reason.

    Input arrives as `<milestone>-day`, `-month` and `-year`; all three empty means the date
    is not agreed yet. With them, `<milestone>-was`: the date the page showed (ISO, empty when
    not agreed), so that only what the person changed is saved. A date they left as it was keeps
    what is saved now, though someone else changed it meanwhile; a date they changed that
    someone else changed too is refused, with the other person's date, and nothing is saved.
    A bound form shows the dates as they would be saved, and what is saved now as what it
    showed (`shown_dates`), so its next submission starts from there.
    """

    reason = forms.CharField(
        label="Reason for the change (optional)",
        max_length=REASON_MAX,
        error_messages={"max_length": REASON_TOO_LONG},
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, migration: PracticeMigration, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.migration = migration
        self.dates: dict[str, date | None] = {}
        self.date_errors: dict[str, DateInputError] = {}

    def date_inputs(self) -> list[DateParts]:
        inputs = []
        saved = self.migration.milestone_dates()
        for milestone in Milestone:
            if self.is_bound and milestone.value not in self.dates:
                day, month, year = self._typed(milestone)  # not a date: as typed, with its error
            else:
                shown = self.dates[milestone.value] if self.is_bound else saved[milestone.value]
                day, month, year = (str(shown.day), str(shown.month), str(shown.year)) if shown else ("",) * 3
            error = self.date_errors.get(milestone.value)
            inputs.append(
                DateParts(
                    milestone.value,
                    milestone.label,
                    day,
                    month,
                    year,
                    error.messages[0] if error else "",
                    error.parts if error else frozenset(),
                    ACCESS_END_HINT.format(days=settings.OLD_SYSTEM_ACCESS_DAYS)
                    if milestone == Milestone.OLD_SYSTEM_ACCESS_END
                    else "",
                )
            )
        return inputs

    def shown_dates(self) -> list[tuple[str, str]]:
        """(milestone, ISO date or "") of the dates saved now: the page's `<milestone>-was`."""
        return [(key, value.isoformat() if value else "") for key, value in self.migration.milestone_dates().items()]

    def clean(self) -> dict:
        cleaned = super().clean()
        saved = self.migration.milestone_dates()
        for milestone in Milestone:
            key = milestone.value
            try:
                typed = parse_date(milestone.label, *self._typed(milestone))
            except DateInputError as error:
                self.date_errors[key] = error
                continue
            shown = self._shown(key, saved[key])
            if typed == shown:
                self.dates[key] = saved[key]  # left as it was: what is saved now, whoever changed it
                continue
            self.dates[key] = typed
            if saved[key] not in (shown, typed):
                now = saved[key].strftime("%-d %B %Y") if saved[key] else "not agreed"
                self.date_errors[key] = DateInputError(
                    f"{milestone.label}: someone else changed it to {now} since the page was opened. "
                    "Check the date, then save again"
                )
        order = Milestone.ORDER_ACCEPTED.value
        if order not in self.date_errors and self.dates[order] is None and self.migration.order_accepted_on:
            # A migration is started with its order date (the start form and the import ask for it).
            self.date_errors[order] = DateInputError("Enter the order date: it can be changed but not removed")
        if not self.date_errors:
            changed = frozenset(key for key, value in self.dates.items() if value != saved[key])
            for field, message in scheduling.milestone_order_errors(self.dates, changed).items():
                self.date_errors[field.removesuffix("_on")] = DateInputError(message)
        if self.date_errors:
            raise ValidationError("Check the dates")
        return cleaned

    def warnings(self) -> list[str]:
        """What to check about the dates typed (scheduling.milestone_warnings): shown before they are
        saved, never a reason to refuse them."""
        warnings = scheduling.milestone_warnings(self.dates)
        warnings += scheduling.past_date_warnings(self.changes(), timezone.localdate())
        return [warning.message for warning in warnings]

    def changes(self) -> dict[str, date | None]:
        """Only the milestones whose date differs from the migration's."""
        current = self.migration.milestone_dates()
        return {key: value for key, value in self.dates.items() if value != current[key]}

    def _typed(self, milestone: Milestone) -> tuple[str, str, str]:
        day, month, year = (self.data.get(f"{milestone.value}-{part}", "").strip() for part in PARTS)
        return day, month, year

    def _shown(self, key: str, saved: date | None) -> date | None:
        """The date the page showed (`<key>-was`); what is saved now when the page sent none."""
        if f"{key}-was" not in self.data:
            return saved
        try:
            return date.fromisoformat(self.data[f"{key}-was"]) if self.data[f"{key}-was"] else None
        except ValueError:
            return saved


class HoldForm(forms.Form):
    reason = forms.CharField(
        label="Why is the migration on hold?",
        max_length=REASON_MAX,
        help_text="For example, waiting for the new supplier to agree a date. Everyone who can see the migration "
        "reads this.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": REASON_TOO_LONG, "required": "Enter why the migration is on hold"},
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why is the migration cancelled?",
        max_length=REASON_MAX,
        help_text="For example, the practice merged with another. Everyone who can see the migration reads this.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": REASON_TOO_LONG, "required": "Enter why the migration is cancelled"},
    )


class ResumeForm(MilestonesForm):
    """Resuming a migration on hold: its milestones as they stand, to move those that slipped
    while it was paused, and an optional reason."""

    reason = forms.CharField(
        label="Reason for resuming (optional)",
        max_length=REASON_MAX,
        error_messages={"max_length": REASON_TOO_LONG},
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OneDateInput:
    """For a form with one NHS.UK date input named NAME (`NAME-day`, `-month`, `-year`) labelled
    LABEL: what was typed, and the input as the page shows it (DateParts) with the problem its
    clean() put in `date_error`. initial_date() is the date shown before anything is typed."""

    NAME: str
    LABEL: str
    date_error: "DateInputError | None" = None

    def initial_date(self) -> date | None:
        return None

    def date_input(self) -> DateParts:
        if self.is_bound:
            day, month, year = self._typed()
        else:
            initial = self.initial_date()
            day, month, year = (str(initial.day), str(initial.month), str(initial.year)) if initial else ("",) * 3
        error = self.date_error
        return DateParts(
            self.NAME,
            self.LABEL,
            day,
            month,
            year,
            error.messages[0] if error else "",
            error.parts if error else frozenset(),
        )

    def _typed(self) -> tuple[str, str, str]:
        day, month, year = (self.data.get(f"{self.NAME}-{part}", "").strip() for part in PARTS)
        return day, month, year


class DueDateForm(OneDateInput, RevisionForm):
    """An item's due date set by hand (an NHS.UK date input, `due_on-day`, `-month`, `-year`), or,
    with `clear`, given back to the date worked out from its milestone; a reason either way."""

    reason = forms.CharField(
        label="Why change the due date?",
        max_length=REASON_MAX,
        help_text="For example, the supplier can only do this the week after. It is kept in the item's history.",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": REASON_TOO_LONG, "required": "Enter why the due date changes"},
    )
    clear = forms.BooleanField(required=False, widget=forms.HiddenInput)

    NAME = "due_on"
    LABEL = "Due date"

    def __init__(self, *args, item: ChecklistItem, **kwargs) -> None:
        super().__init__(*args, item=item, **kwargs)
        # The reason's id differs from the not applicable form's, which shares the item's page.
        self.auto_id = self.auto_id.replace("%s", "due-%s")
        self.item = item
        self.date_error: DateInputError | None = None

    def initial_date(self) -> date | None:
        # The date it has now, set by hand or worked out: the one to change from.
        return self.item.due_on

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("clear"):
            cleaned["due_on"] = None
            return cleaned
        try:
            cleaned["due_on"] = parse_date(self.LABEL, *self._typed())
        except DateInputError as error:
            self.date_error = error
        else:
            if cleaned["due_on"] is None:
                self.date_error = DateInputError("Enter the due date")
            elif bounds := self._plausible():
                first, last = bounds
                if not first <= cleaned["due_on"] <= last:
                    self.date_error = DateInputError(
                        f"The due date must be within a year of the migration's dates: between "
                        f"{_long_date(first)} and {_long_date(last)}"
                    )
        if self.date_error:
            raise ValidationError("Check the due date")
        return cleaned

    def _plausible(self) -> tuple[date, date] | None:
        """The days a due date may fall on: from a year before the migration's first milestone to a
        year after its last. Six years before the order is a year typed wrong, not a plan."""
        days = [day for day in self.item.migration.milestone_dates().values() if day is not None]
        if not days:
            return None
        return min(days) - timedelta(days=PLAUSIBLE_DAYS), max(days) + timedelta(days=PLAUSIBLE_DAYS)


# How far from its migration's milestones an item's due date set by hand may be (DueDateForm).
PLAUSIBLE_DAYS = 365


def _long_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month]} {day.year}"


def parse_date(label: str, day: str, month: str, year: str, *, example: str = "27 3 2027") -> date | None:
    """The date typed in an NHS.UK date input, None when all three boxes are empty, or a
    DateInputError worded as the NHS.UK date input asks, naming the boxes that are wrong. Its
    `example` of a date is as the boxes take one; a file's cells (the import) give theirs."""
    typed = dict(zip(PARTS, (day.strip(), month.strip(), year.strip()), strict=True))
    if not any(typed.values()):
        return None
    missing = [part for part, value in typed.items() if not value]
    if missing:
        raise DateInputError(f"{label} must include a {' and '.join(missing)}", missing)
    real_date = f"{label} must be a real date, for example {example}"
    # str.isdigit() and int() take any script's digits (Arabic-Indic, full-width) and superscripts
    # too: only 0 to 9 are read as numbers here, as people reading the date back expect.
    other_digits = [part for part, value in typed.items() if value.isdecimal() and not value.isascii()]
    if other_digits:
        raise DateInputError(f"{label} must be typed with the numbers 0 to 9, for example {example}", other_digits)
    not_numbers = [part for part, value in typed.items() if not (value.isascii() and value.isdigit())]
    if not_numbers:
        raise DateInputError(real_date, not_numbers)
    # Checked on the text's length first: a day of thousands of digits is neither a day nor an int
    # Python will parse, and date() overflows on a day past 2**31.
    out_of_range = {
        part: message
        for part, low, high, message in (
            ("day", 1, 31, f"{label} day must be a number between 1 and 31"),
            ("month", 1, 12, f"{label} month must be a number between 1 and 12"),
        )
        if not (len(typed[part]) <= 2 and low <= int(typed[part]) <= high)
    }
    if len(typed["year"]) != 4:
        out_of_range["year"] = f"{label} year must include 4 numbers"
    if len(out_of_range) == 1:
        [(part, message)] = out_of_range.items()
        raise DateInputError(message, [part])
    if out_of_range:
        raise DateInputError(real_date, out_of_range)
    if not EARLIEST.year <= int(typed["year"]) <= LATEST.year:
        raise DateInputError(f"{label} must be between {_long(EARLIEST)} and {_long(LATEST)}")
    try:
        return date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:  # 31 February, 31 April
        raise DateInputError(real_date, ["day"]) from None


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def conditions_field(label: str) -> forms.MultipleChoiceField:
    """What is true of the practice (Condition), as checkboxes: on the start form and its own page."""
    return forms.MultipleChoiceField(
        label=label,
        choices=Condition.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They decide which checklist items apply. Select all that are true.",
    )


class ConditionsForm(forms.Form):
    """What is true of the practice (Condition), as checkboxes, plus an optional reason."""

    conditions = conditions_field("What is true of this practice?")
    reason = forms.CharField(
        label="Reason for the change (optional)",
        max_length=REASON_MAX,
        error_messages={"max_length": REASON_TOO_LONG},
        required=False,
        help_text="For example, the technical survey found the card readers need replacing.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def changes(self) -> dict[str, bool]:
        """Every condition, true or not, as PracticeMigration.change_conditions takes them."""
        chosen = set(self.cleaned_data["conditions"])
        return {condition: condition in chosen for condition in Condition.values}


class CheckInForm(forms.Form):
    """A weekly check-in: which side gives it (asked only of someone who may give both), a RAG
    status and a note (models/checkins.py)."""

    side = forms.ChoiceField(
        label="Whose check-in is this?",
        choices=CheckInSide.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select whose check-in this is"},
    )
    rag = forms.ChoiceField(
        label="How is the migration going this week?",
        choices=CheckInRag.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select red, amber or green"},
    )
    note = forms.CharField(
        label="Note",
        max_length=CHECK_IN_NOTE_MAX,
        help_text="What moved, what is stuck and what help is needed. Everyone who can see the migration reads this.",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": "Enter a note: what moved, what is stuck, what help is needed",
            "max_length": f"The note must be {CHECK_IN_NOTE_MAX:,} characters or fewer",
        },
    )

    RAG_HINTS = {
        CheckInRag.GREEN: "On track: nothing needs help.",
        CheckInRag.AMBER: "Some risk: something is late or stuck, but the team can put it right.",
        CheckInRag.RED: "Needs help: go-live or a milestone is at risk without someone else acting.",
    }

    def __init__(self, *args, sides: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sides = sides
        if len(sides) == 1:
            self.fields["side"].required = False
            self.fields["side"].widget = forms.HiddenInput()
        # Green first, as a person reads the scale.
        self.fields["rag"].choices = [(rag.value, rag.label) for rag in reversed(CheckInRag)]

    def clean_side(self) -> str:
        side = self.cleaned_data.get("side") or ""
        if len(self.sides) == 1:
            return self.sides[0]
        if side not in self.sides:
            raise ValidationError("Select whose check-in this is")
        return side

    def rag_options(self) -> list[tuple]:
        """Each radio of `rag` with its hint, for the page's markup."""
        return [(option, self.RAG_HINTS[option.data["value"]]) for option in self["rag"]]


class CheckInDayForm(forms.Form):
    check_in_weekday = forms.TypedChoiceField(
        label="Check-in day",
        choices=Weekday.choices,
        coerce=int,
        help_text="The day of the week your practices' migrations hold their weekly check-in. Practice managers "
        "and project managers are reminded of it in their digest that day.",
        error_messages={"required": "Select a check-in day"},
    )
