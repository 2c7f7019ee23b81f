"""The filters of a migration's items (django-filter; drf-spectacular documents them from here).

Each filter asks the rule's own home: whose items are whose is access.Relations (`owner=me`, the
page's "My items"), what is overdue is the items' queryset (`ChecklistItemQuerySet.overdue`).
A value the filter cannot use is a 400 naming it, never a filter silently left out."""

from datetime import date

import django_filters
from django import forms
from django.db.models import QuerySet

from migrations_app.access import Access
from migrations_app.models import ChecklistItem, ItemStatus, MigrationPhase, PracticeMigration

ME, ROLE = "me", "role"
# The largest id the database holds: a larger number is no person's id (and no query's parameter).
LARGEST_ID = 2**31 - 1
TRUE, FALSE = "true", "false"


def _id(value: str) -> int | None:
    """`value` as an id, read with the digits 0 to 9 only; None when it is none."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(LARGEST_ID)):
        return None
    number = int(value)
    return number if 0 < number <= LARGEST_ID else None


class ItemFilterForm(forms.Form):
    """Checks what a field alone cannot: the owner's form, the phase against the migration's
    phases (`migration`, set by ItemFilter), and that overdue is true or false."""

    migration: PracticeMigration

    def clean_owner(self) -> str:
        value = self.cleaned_data["owner"]
        if value and value not in (ME, ROLE) and _id(value) is None:
            raise forms.ValidationError('Give "me", "role" or the id of a person')
        return value

    def clean_phase(self) -> MigrationPhase | None:
        value = self.cleaned_data["phase"]
        if not value:
            return None
        number = _id(value)
        phases = self.migration.phases.all()
        phase = (phases.filter(pk=number) if number is not None else phases.filter(key=value)).first()
        if phase is None:
            raise forms.ValidationError("Give the id or key of one of this migration's phases")
        return phase

    def clean_overdue(self) -> bool | None:
        # The field reads anything it does not know as "either": refused here instead.
        raw = self.data.get("overdue")
        if raw not in (None, "", TRUE, FALSE):
            raise forms.ValidationError('Give "true" or "false"')
        return self.cleaned_data["overdue"]


class ItemFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=ItemStatus.choices, help_text="Items with this status (repeat for more than one)."
    )
    owner = django_filters.CharFilter(
        method="by_owner",
        help_text='"me": your items, as the page\'s "My items" (named to you, or with no owner and a role you '
        'hold at the practice); "role": items with no named owner; a person\'s id: the items named to them.',
    )
    overdue = django_filters.BooleanFilter(
        method="by_overdue", help_text="Open items past their due date (nothing of a migration on hold is)."
    )
    phase = django_filters.CharFilter(method="by_phase", help_text="A phase of the migration, by its id or key.")

    class Meta:
        model = ChecklistItem
        fields = ("status", "owner", "overdue", "phase")
        form = ItemFilterForm

    def __init__(self, data, queryset: QuerySet, *, migration: PracticeMigration, access: Access, today: date):
        super().__init__(data, queryset)
        self.migration, self.access, self.today = migration, access, today

    @property
    def form(self) -> ItemFilterForm:
        form = super().form
        form.migration = self.migration
        return form

    def by_owner(self, items: QuerySet, name: str, value: str) -> QuerySet:
        if value == ME:
            return items.filter(self.access.relations.own_items())
        if value == ROLE:
            return items.filter(owner__isnull=True)
        return items.filter(owner_id=_id(value))

    def by_overdue(self, items: QuerySet, name: str, value: bool) -> QuerySet:
        overdue = items.none() if self.migration.is_paused else items.overdue(self.today)
        return overdue if value else items.exclude(pk__in=overdue.values("pk"))

    def by_phase(self, items: QuerySet, name: str, value: MigrationPhase) -> QuerySet:
        return items.filter(phase=value)
