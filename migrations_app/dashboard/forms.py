"""The dashboard's filters, read from the query string so that a view can be bookmarked and
shared. A bad value gets a message next to its field and is ignored; the other filters apply."""

from django import forms

from migrations_app.dashboard.rag import Rag
from migrations_app.dashboard.rows import (
    CHECK_IN_FILTERS,
    DEFAULT_SORT,
    GO_LIVE_NOT_AGREED,
    GO_LIVE_WINDOWS,
    SORTABLE,
    STATUSES,
    Filters,
    Options,
)

SEARCH_MAX = 100


def _choice(label: str, message: str, **kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, error_messages={"invalid_choice": message}, **kwargs)


class DashboardForm(forms.Form):
    search = forms.CharField(
        label="Practice name or ODS code",
        required=False,
        max_length=SEARCH_MAX,
        error_messages={
            "max_length": f"Search for at most {SEARCH_MAX} characters",
            # A NUL (%00 in the address): not in any name, and the databases cannot search for one.
            "null_characters_not_allowed": "Search for letters, numbers and punctuation only",
        },
    )
    icb = _choice("ICB", "Select an ICB from the list")
    delivery_partner = _choice("Delivery partner", "Select a delivery partner from the list")
    suppliers = _choice("Systems (current to new)", "Select a pair of systems from the list")
    phase = _choice("Current phase", "Select a phase from the list")
    go_live = _choice(
        "Go-live",
        "Select a go-live window from the list",
        choices=[
            ("", "Any date"),
            *((key, label) for key, (label, _, _) in GO_LIVE_WINDOWS.items()),
            (GO_LIVE_NOT_AGREED, "Not agreed yet"),
        ],
    )
    rag = forms.MultipleChoiceField(
        label="RAG status",
        required=False,
        choices=[(rag.value, rag.label) for rag in Rag],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Select red, amber or green"},
    )
    status = _choice(
        "Status", "Select a status from the list", choices=[(key, label) for key, (label, _) in STATUSES.items()]
    )
    check_in = _choice(
        "Weekly check-ins",
        "Select a kind of check-in from the list",
        choices=[("", "Any"), *((key, label) for key, (label, _) in CHECK_IN_FILTERS.items())],
    )
    sort = _choice(
        "Sort by",
        "Sort by one of the table's columns",
        choices=[(key, key) for key in SORTABLE] + [(f"-{key}", f"-{key}") for key in SORTABLE],
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={"invalid": "Enter a page number, 1 or more", "min_value": "Enter a page number, 1 or more"},
    )

    def __init__(self, data, *, options: Options) -> None:
        super().__init__(data)
        self.options = options
        self.fields["icb"].choices = [("", "All ICBs"), *options.icbs]
        self.fields["delivery_partner"].choices = [("", "All delivery partners"), *options.delivery_partners]
        self.fields["suppliers"].choices = [("", "All systems"), *options.supplier_pairs]
        self.fields["phase"].choices = [("", "All phases"), *options.phases]

    def filters(self) -> Filters:
        """The valid filters (call after is_valid()); an invalid one is left out."""
        data = self.cleaned_data
        suppliers = data.get("suppliers")
        return Filters(
            search=data.get("search", ""),
            icb=int(data["icb"]) if data.get("icb") else None,
            delivery_partner=int(data["delivery_partner"]) if data.get("delivery_partner") else None,
            suppliers=tuple(int(part) for part in suppliers.split("-")) if suppliers else None,
            phase=data.get("phase", ""),
            go_live=data.get("go_live", ""),
            rag=frozenset(Rag(value) for value in data.get("rag", [])),
            status=data.get("status", ""),
            check_in=data.get("check_in", ""),
            sort=data.get("sort") or DEFAULT_SORT,
            page=data.get("page") or 1,
        )

    def error_list(self) -> list[tuple[str, str]]:
        """(id of the field to link to, message) for the error summary, in the form's order. The
        sort and the page come from links, not fields: their messages link nowhere."""
        anchors = {"rag": "id_rag_0", "sort": "", "page": ""}
        return [
            (anchors.get(name, f"id_{name}"), message) for name in self.fields for message in self.errors.get(name, [])
        ]
