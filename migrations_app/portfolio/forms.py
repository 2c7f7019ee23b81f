"""Parsing the start form, the upload form and the preview's filters. The rules stay where they
live: the models check an ODS code, the milestone order, one unfinished migration per practice and
a supplier pair that differs; `access` says for which practices a person may start one and who
may be its project manager. These forms turn input into values and put those messages next to
the right field."""

import hashlib
from datetime import date
from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from migrations_app import access, scheduling
from migrations_app.forms import PARTS, DateInputError, DateParts, conditions_field, parse_date
from migrations_app.models import (
    ICB,
    Condition,
    MigrationImport,
    Milestone,
    Practice,
    PracticeMigration,
    Supplier,
    User,
)
from migrations_app.models.people import name_contains
from migrations_app.portfolio import importing
from migrations_app.portfolio.tracker_file import (
    FORMULA_STARTS,
    MAX_BYTES,
    FileProblem,
    TrackerFile,
    check_size,
    looks_like_formula,
)

NEW_PRACTICE = "new"
SEARCH_RESULTS = 20
SEARCH_MAX = 100
# The date inputs' wording: the order date is the one a migration cannot start without.
DATE_LABELS = {Milestone.ORDER_ACCEPTED: "Order date"}
# The model's messages about a new practice's fields go next to the form's.
NEW_PRACTICE_FIELDS = {"ods_code": "new_ods_code", "name": "new_name", "icb": "new_icb"}


def practices_found(starter: access.Starter, search: str) -> QuerySet[Practice]:
    """Practices the person may start a migration for whose ODS code starts with, or whose name
    contains, `search` (people.name_contains: spaces and apostrophes as people type them); each
    marked with whether it has an unfinished migration."""
    text = search.strip()
    if not text:
        return Practice.objects.none()
    return (
        starter.practices()
        .filter(Q(ods_code__istartswith=text) | name_contains(text))
        .select_related("icb")
        .annotate(has_unfinished=Exists(PracticeMigration.objects.unfinished().filter(practice=OuterRef("pk"))))
        .order_by("name", "ods_code")[:SEARCH_RESULTS]
    )


class ProjectManagerChoice(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user.full_name} ({user.email})" if user.full_name else user.email


class StartMigrationForm(forms.Form):
    """A new migration: the practice (found, or added with its name, ODS code and ICB), its systems,
    the milestone dates agreed so far (the order date at least), its conditions and its project
    manager. Milestones arrive as NHS.UK date inputs, `<milestone>-day`, `-month` and `-year`."""

    practice = forms.CharField(
        label="Practice", max_length=20, error_messages={"required": "Select the practice, or add it"}
    )
    new_name = forms.CharField(
        label="Practice name",
        max_length=200,
        required=False,
        error_messages={"max_length": "The practice name must be 200 characters or fewer"},
    )
    new_ods_code = forms.CharField(
        label="ODS code", max_length=20, required=False, help_text="One letter then five digits, for example A81001."
    )
    new_icb = forms.ModelChoiceField(ICB.objects.all(), label="ICB", required=False, empty_label="Choose the ICB")
    new_delivery_partner = forms.ModelChoiceField(
        queryset=None, label="Delivery partner", required=False, empty_label="Choose the delivery partner"
    )
    source_supplier = forms.ModelChoiceField(
        Supplier.objects.order_by("system_name"),
        label="Current system",
        empty_label="Choose the current system",
        error_messages={"required": "Select the current system"},
    )
    target_supplier = forms.ModelChoiceField(
        Supplier.objects.order_by("system_name"),
        label="New system",
        empty_label="Choose the new system",
        error_messages={"required": "Select the new system"},
    )
    conditions = conditions_field("Conditions")
    project_manager = ProjectManagerChoice(
        queryset=None,
        label="Delivery partner's project manager",
        required=False,
        empty_label="Not named yet",
    )
    # The dates whose warnings the person was shown (dates_key): sent again unchanged, they start it.
    warned_dates = forms.CharField(required=False, max_length=400, widget=forms.HiddenInput)

    def __init__(self, *args, starter: access.Starter, search: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.starter = starter
        partners = list(starter.partners())
        self.fields["new_delivery_partner"].queryset = starter.partners()
        # Someone with one delivery partner gives new practices that one; others choose.
        self.only_partner = partners[0] if len(partners) == 1 else None
        self.fields["project_manager"].queryset = access.project_managers(partner.pk for partner in partners).order_by(
            "full_name", "email"
        )
        # A NUL is no character of a practice's name or code (and PostgreSQL refuses it in a query).
        self.search = search.replace("\x00", "").strip()[:SEARCH_MAX]
        self.chosen: Practice | None = None
        self.practice: Practice | None = None  # chosen, or new and not saved yet
        self.more_found = False
        self.dates: dict[str, date | None] = {}
        self.date_errors: dict[str, DateInputError] = {}

    # --- the page's pieces ------------------------------------------------------------------------------

    @cached_property
    def practices(self) -> list[Practice]:
        """The practices offered: those the search finds, and the one chosen if it is not among them."""
        found = list(practices_found(self.starter, self.search))
        self.more_found = len(found) >= SEARCH_RESULTS
        if self.chosen is not None and self.chosen.pk not in {practice.pk for practice in found}:
            found.insert(0, self.chosen)
        return found

    @property
    def adding_practice(self) -> bool:
        return self.data.get("practice") == NEW_PRACTICE

    def date_inputs(self) -> list[DateParts]:
        inputs = []
        for milestone in Milestone:
            day, month, year = self._typed(milestone)
            error = self.date_errors.get(milestone.value)
            inputs.append(
                DateParts(
                    milestone.value,
                    DATE_LABELS.get(milestone, milestone.label),
                    day,
                    month,
                    year,
                    error.messages[0] if error else "",
                    error.parts if error else frozenset(),
                )
            )
        return inputs

    def dates_key(self) -> str:
        """The dates as typed and read (clean()), as one string: what the warnings were about."""
        return ";".join(f"{name}={day.isoformat()}" for name, day in sorted(self.dates.items()) if day)

    @cached_property
    def warnings(self) -> list[str]:
        """What is worth a second look about the dates (allowed all the same), once they are read:
        scheduling's milestone warnings, and a go-live that has passed, as the import warns."""
        found = [warning.message for warning in scheduling.milestone_warnings(self.dates)]
        if passed := scheduling.past_go_live_warning(self.dates.get(Milestone.GO_LIVE), timezone.localdate()):
            found.append(passed)
        return found

    def needs_checking(self) -> bool:
        """Valid, with warnings the person has not been shown for these dates: the page shows them
        and asks to start it again (nothing is saved meanwhile)."""
        return bool(self.warnings) and self.cleaned_data.get("warned_dates") != self.dates_key()

    # --- validation ---------------------------------------------------------------------------------------

    def clean_practice(self) -> str:
        value = self.cleaned_data["practice"]
        if value == NEW_PRACTICE:
            return value
        if value.isascii() and value.isdigit():
            self.chosen = (
                self.starter.practices().select_related("icb", "delivery_partner").filter(pk=int(value)).first()
            )
        if self.chosen is None:
            raise ValidationError("Select the practice, or add it")
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        for milestone in Milestone:
            label = DATE_LABELS.get(milestone, milestone.label)
            try:
                self.dates[milestone.value] = parse_date(label, *self._typed(milestone))
            except DateInputError as error:
                self.date_errors[milestone.value] = error
        if self.dates.get(Milestone.ORDER_ACCEPTED) is None and Milestone.ORDER_ACCEPTED not in self.date_errors:
            self.date_errors[Milestone.ORDER_ACCEPTED] = DateInputError("Enter the order date")
        practice = self.practice = self._practice(cleaned)
        if "source_supplier" in cleaned and "target_supplier" in cleaned:
            # The model's own checks: supplier pair, milestone order, one unfinished migration per practice.
            try:
                self.migration(practice, by=None).clean()
            except ValidationError as error:
                self.add_model_errors(error)
        manager = cleaned.get("project_manager")
        if practice is not None and manager is not None:
            partner_id = practice.delivery_partner_id
            if not access.project_managers([partner_id] if partner_id else []).filter(pk=manager.pk).exists():
                self.add_error(
                    "project_manager",
                    f"Choose a project manager of {practice.delivery_partner}, the practice's delivery partner"
                    if partner_id
                    else "The practice has no delivery partner: leave the project manager as not named yet",
                )
        if self.date_errors:
            raise ValidationError("Check the dates", code="dates")
        return cleaned

    def _practice(self, cleaned: dict) -> Practice | None:
        """The practice chosen, or the new one typed in (validated by the model, not saved)."""
        if cleaned.get("practice") != NEW_PRACTICE:
            return self.chosen
        partner = self.only_partner or cleaned.get("new_delivery_partner")
        required = {
            "new_name": "Enter the practice name",
            "new_ods_code": "Enter the practice's ODS code",
            "new_icb": "Select the practice's ICB",
        }
        if self.only_partner is None:
            required["new_delivery_partner"] = "Select the practice's delivery partner"
        missing = [name for name in required if not cleaned.get(name) and name not in self.errors]
        for name in missing:
            self.add_error(name, required[name])
        if looks_like_formula(cleaned.get("new_name")) and "new_name" not in self.errors:
            # The import's rule for a cell (tracker_file.looks_like_formula): a name it would refuse in
            # a file as a formula is refused here too.
            starts = ", ".join(FORMULA_STARTS[:-1]) + " or " + FORMULA_STARTS[-1]
            self.add_error("new_name", f"The practice name must not start with {starts}")
        practice = Practice(
            ods_code=cleaned.get("new_ods_code", ""),
            name=cleaned.get("new_name", ""),
            icb=cleaned.get("new_icb"),
            delivery_partner=partner,
        )
        try:
            practice.full_clean()
        except ValidationError as error:
            for name, errors in error.error_dict.items():
                field = NEW_PRACTICE_FIELDS.get(name)
                if field in missing or field in self.errors:
                    continue
                # One message a box, as the design system asks: an ODS code too long is not one
                # letter and five digits either, and that says what to type.
                each = errors[0]
                if each.code == "unique":
                    each = ValidationError(self._known_code(practice.ods_code), code="unique")
                self.add_error(field, each)
        return practice

    def _known_code(self, ods_code: str) -> str:
        """What to do about an ODS code the tracker has already: search for its practice, when the
        person may start its migration; else who may (without naming a practice they cannot see)."""
        known = Practice.objects.filter(ods_code=ods_code).first()
        if known is None or self.starter.may_start_for(known):
            return f"{ods_code} is in the tracker already: search for it above"
        return importing.unsupported_practice_message(ods_code, has_partner=known.delivery_partner_id is not None)

    def migration(self, practice: Practice | None, *, by: User | None) -> PracticeMigration:
        """The migration the form describes, not saved."""
        conditions = self.cleaned_data.get("conditions", [])
        return PracticeMigration(
            practice=practice if practice is not None and practice.pk else None,
            source_supplier=self.cleaned_data.get("source_supplier"),
            target_supplier=self.cleaned_data.get("target_supplier"),
            project_manager=self.cleaned_data.get("project_manager"),
            created_by=by,
            **{condition: condition in conditions for condition in Condition.values},
            **{Milestone(milestone).field_name: day for milestone, day in self.dates.items()},
        )

    def add_model_errors(self, error: ValidationError) -> None:
        """A model's ValidationError, each message put next to the field it is about."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for name, messages in error.message_dict.items():
            if name.endswith("_on") and name.removesuffix("_on") in Milestone.values:
                self.date_errors.setdefault(name.removesuffix("_on"), DateInputError(" ".join(messages)))
            elif name in self.fields:
                if name not in self.errors:
                    self.add_error(name, messages)
            else:  # NON_FIELD_ERRORS, or a field the form does not show
                self.add_error(None, messages)

    # --- saving ---------------------------------------------------------------------------------------------

    def save(self, *, created_by: User) -> PracticeMigration:
        """Add the practice if it is new and start its migration, in one transaction: if the model
        refuses the migration (ValidationError), the practice is not added either."""
        practice = self.chosen
        try:
            with transaction.atomic():
                if practice is None:
                    new = self.practice
                    practice = Practice.objects.create(
                        ods_code=new.ods_code, name=new.name, icb=new.icb, delivery_partner=new.delivery_partner
                    )
                migration = self.migration(practice, by=created_by)
                return PracticeMigration.start(
                    practice=practice,
                    source_supplier=migration.source_supplier,
                    target_supplier=migration.target_supplier,
                    created_by=created_by,
                    **{name: getattr(migration, name) for name in _START_FIELDS},
                )
        except IntegrityError:
            # Someone else added the practice, or started its migration, since the form was checked.
            raise ValidationError(
                {"practice": "The practice or its migrations changed meanwhile: check and try again"}
            ) from None

    def _typed(self, milestone: Milestone) -> tuple[str, str, str]:
        day, month, year = (str(self.data.get(f"{milestone.value}-{part}", "")).strip()[:10] for part in PARTS)
        return day, month, year


_START_FIELDS = [
    *(milestone.field_name for milestone in Milestone),
    *Condition.values,
    "project_manager",
]


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Upload the order tracker",
        error_messages={"required": "Choose the file to import", "empty": "The file is empty"},
    )
    delivery_partner = forms.ModelChoiceField(
        queryset=None,
        label="Whose order tracker is it?",
        help_text="New practices in the file get this delivery partner.",
        empty_label="Choose the delivery partner",
        error_messages={"required": "Select the delivery partner whose order tracker it is"},
    )

    def __init__(self, *args, starter: access.Starter, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        partners = list(starter.partners())
        self.only_partner = partners[0] if len(partners) == 1 else None
        if self.only_partner is not None:
            del self.fields["delivery_partner"]
        else:
            self.fields["delivery_partner"].queryset = starter.partners()
        self.content = b""
        self.row_count = 0

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            # Refused on its size before a byte is read: a 10 MB file is not looked at.
            check_size(upload.size)
            content = upload.read(MAX_BYTES + 1)
            with TrackerFile(upload.name, content) as tracker:
                self.row_count = importing.count_rows(tracker)
        except FileProblem as problem:
            raise ValidationError(" ".join(problem.messages)) from None
        if not self.row_count:
            raise ValidationError("The file has its headings but no rows under them")
        self.content = content
        return upload

    def save(self, *, uploaded_by: User) -> MigrationImport:
        return MigrationImport.objects.create(
            uploaded_by=uploaded_by,
            delivery_partner=self.only_partner or self.cleaned_data["delivery_partner"],
            filename=self.cleaned_data["file"].name[:255],
            content=self.content,
            sha256=hashlib.sha256(self.content).hexdigest(),
            row_count=self.row_count,
        )


class PreviewPageForm(forms.Form):
    """The preview's filters, from the query string: which kind of row, and which page."""

    show = forms.ChoiceField(choices=[("", "All rows"), *importing.RowKind.choices], required=False)
    page = forms.IntegerField(min_value=1, max_value=1000, required=False)

    def values(self) -> tuple[str, int]:
        if not self.is_valid():
            return "", 1
        return self.cleaned_data["show"], self.cleaned_data["page"] or 1
