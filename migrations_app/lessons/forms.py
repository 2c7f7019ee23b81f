"""The retrospective form, and the Lessons page's filters (read from the query string, as the
dashboard's: a bad value gets a message next to its field and is ignored)."""

from dataclasses import dataclass

from django import forms

from migrations_app.models import Retrospective
from migrations_app.models.retrospectives import RetrospectiveArea, RetrospectiveQuerySet, Verdict

COMMENT_MAX = 2000
LESSON_MAX = 4000


class RetrospectiveForm(forms.Form):
    """A verdict and an optional comment for each area (RetrospectiveArea), and the lesson."""

    lesson = forms.CharField(
        label="The lesson you would pass on",
        help_text="What would you tell the next practice and project manager making this move?",
        max_length=LESSON_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": "Enter the lesson you would pass on",
            "max_length": f"The lesson must be {LESSON_MAX:,} characters or fewer",
        },
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        lesson = self.fields.pop("lesson")
        for area in RetrospectiveArea:
            message = f"Select whether {area.label.lower()} went well, did not go well or does not apply"
            self.fields[area.value] = forms.ChoiceField(
                label=area.label,
                choices=Verdict.choices,
                widget=forms.RadioSelect,
                error_messages={"required": message, "invalid_choice": message},
            )
            self.fields[area.comment_field] = forms.CharField(
                label=f"Comment on {area.label.lower()} (optional)",
                required=False,
                max_length=COMMENT_MAX,
                widget=forms.Textarea(attrs={"rows": 3}),
                error_messages={
                    "max_length": f"The comment on {area.label.lower()} must be {COMMENT_MAX:,} characters or fewer"
                },
            )
        self.fields["lesson"] = lesson

    @classmethod
    def initial_from(cls, retrospective: Retrospective | None) -> dict:
        if retrospective is None:
            return {}
        names = [area.value for area in RetrospectiveArea] + [area.comment_field for area in RetrospectiveArea]
        return {name: getattr(retrospective, name) for name in [*names, "lesson"]}

    def areas(self) -> list[tuple[RetrospectiveArea, forms.BoundField, forms.BoundField]]:
        """(area, verdict field, comment field) for each area: the page's fieldsets."""
        return [(area, self[area.value], self[area.comment_field]) for area in RetrospectiveArea]

    def verdicts(self) -> dict[str, str]:
        return {area.value: self.cleaned_data[area.value] for area in RetrospectiveArea}

    def comments(self) -> dict[str, str]:
        return {area.value: self.cleaned_data[area.comment_field] for area in RetrospectiveArea}

    def error_list(self) -> list[tuple[str, str]]:
        """(id of the control to link to, message) for the error summary, in the page's order: a
        verdict's first radio, else the field."""
        return [
            (f"id_{name}_0" if name in RetrospectiveArea.values else f"id_{name}", message)
            for name in self.fields
            for message in self.errors.get(name, [])
        ]


# --- the Lessons page's filters ----------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the filters offer: only the supplier pairs and years of lessons the person can read."""

    supplier_pairs: list[tuple[str, str]]
    years: list[tuple[str, str]]

    @classmethod
    def of(cls, retrospectives: RetrospectiveQuerySet) -> "Options":
        """One query (RetrospectiveQuerySet.facets)."""
        pairs, years = {}, set()
        for source_id, source, target_id, target, year in retrospectives.facets():
            pairs[f"{source_id}-{target_id}"] = f"{source} to {target}"
            if year is not None:
                years.add(year)
        return cls(
            supplier_pairs=sorted(pairs.items(), key=lambda choice: choice[1].casefold()),
            years=[(str(year), str(year)) for year in sorted(years, reverse=True)],
        )


@dataclass(frozen=True)
class Filters:
    suppliers: tuple[int, int] | None = None
    area: str = ""
    year: int | None = None
    page: int = 1

    def apply(self, retrospectives: RetrospectiveQuerySet) -> RetrospectiveQuerySet:
        if self.suppliers:
            retrospectives = retrospectives.between(*self.suppliers)
        if self.area:
            retrospectives = retrospectives.about(self.area)
        if self.year:
            retrospectives = retrospectives.gone_live_in(self.year)
        return retrospectives


def _choice(label: str, message: str, **kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, error_messages={"invalid_choice": message}, **kwargs)


class LessonsForm(forms.Form):
    suppliers = _choice("Systems (current to new)", "Select a pair of systems from the list")
    area = _choice(
        "Area",
        "Select an area from the list",
        choices=[("", "All areas"), *RetrospectiveArea.choices],
    )
    year = _choice("Year of go-live", "Select a year from the list")
    page = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={"invalid": "Enter a page number, 1 or more", "min_value": "Enter a page number, 1 or more"},
    )

    def __init__(self, data, *, options: Options) -> None:
        super().__init__(data)
        self.fields["suppliers"].choices = [("", "All systems"), *options.supplier_pairs]
        self.fields["year"].choices = [("", "Any year"), *options.years]

    def filters(self) -> Filters:
        """The valid filters (call after is_valid()); an invalid one is left out."""
        data = self.cleaned_data
        suppliers = data.get("suppliers")
        return Filters(
            suppliers=tuple(int(part) for part in suppliers.split("-")) if suppliers else None,
            area=data.get("area", ""),
            year=int(data["year"]) if data.get("year") else None,
            page=data.get("page") or 1,
        )

    def error_list(self) -> list[tuple[str, str]]:
        """(id of the field to link to, message) for the error summary; the page comes from links."""
        return [
            ("" if name == "page" else f"id_{name}", message)
            for name in self.fields
            for message in self.errors.get(name, [])
        ]
