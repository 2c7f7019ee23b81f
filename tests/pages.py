"""What the page tests share: the demo checklist's items on the frozen day, the URLs of the
migration page and the dashboard, posting as htmx does, and reading HTML as a person does."""

import csv
import io
import re
from html import unescape

from django.urls import reverse

from migrations_app.models import ChecklistItem, Event, ItemStatus, PracticeMigration

# Items of the demo migration (tests.conftest) as they stand on TODAY, Thursday 10 April 2025.
OVERDUE_KEY = "prepared-for-idp"  # IDP - 7: due 7 April
DUE_SOON_KEY = "extract-provided-to-new-supplier"  # IDP: due 14 April
LATER_KEY = "cutover-period-dates"  # cutover planning: due 8 May
STAFF_TASK_KEY = "clean-up-current-data"  # practice staff's, IDP - 14: due 31 March
GATE_KEY = "data-checking-sign-off"  # the clinical lead's gate, last of the IDP phase

DASHBOARD_URL = reverse("migrations:dashboard")
CSV_URL = reverse("migrations:dashboard_csv")


def detail_url(migration: PracticeMigration) -> str:
    return reverse("migrations:migration_detail", kwargs={"pk": migration.pk})


def item_url(name: str, item: ChecklistItem) -> str:
    return reverse(f"migrations:{name}", kwargs={"pk": item.migration_id, "item_pk": item.pk})


def item(migration: PracticeMigration, key: str) -> ChecklistItem:
    return migration.items.get(key=key)


def applicable(items) -> int:
    return sum(1 for each in items if each.status != ItemStatus.NOT_APPLICABLE)


def htmx_post(client, url: str, data: dict | None = None):
    return client.post(url, data or {}, headers={"HX-Request": "true"})


def open_dashboard(client, user, params: dict | None = None, url: str = DASHBOARD_URL):
    client.force_login(user)
    return client.get(url, params or {})


def listed(response) -> list[int]:
    """The ids of the migrations on the dashboard page, in order."""
    return [row.pk for row in response.context["page"].object_list]


def names(response) -> list[str]:
    """The practices on the dashboard page, in order."""
    return [row.practice_name for row in response.context["page"].object_list]


def csv_rows(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def text(markup: str) -> str:
    """Markup as a person reads it: tags dropped, entities decoded, white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def element(html: str, element_id: str) -> str:
    """The markup of the element with this id, to its closing tag (for elements that do not nest
    an element of their own kind)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>.*?</\1>', html, re.DOTALL)
    assert match, f"no element with id {element_id!r}"
    return match.group(0)


def field_error(html: str, field_id: str) -> str:
    """The error message shown at a form field (includes/_field.html), as a person reads it; empty
    when the field has none."""
    match = re.search(rf'<span class="nhsuk-error-message" id="{field_id}-error">(.*?)\n  </span>', html, re.DOTALL)
    return text(match.group(1)) if match else ""


def error_summary(html: str) -> str:
    """The messages of the page's error summary, as a person reads them."""
    match = re.search(r'<ul class="nhsuk-list nhsuk-error-summary__list">(.*?)</ul>', html, re.DOTALL)
    assert match, "no error summary on the page"
    return text(match.group(1))


def table_row(html: str, migration: PracticeMigration) -> str:
    """The dashboard's row of `migration`, as a person reads it."""
    match = re.search(rf'<tr class="nhsuk-table__row" id="migration-{migration.pk}"[^>]*>(.*?)</tr>', html, re.DOTALL)
    assert match, f"no row for migration {migration.pk}"
    return text(match.group(1))


def schedule(migration: PracticeMigration) -> tuple:
    """The milestones, every due date and the event count: what a milestone change would touch."""
    fresh = PracticeMigration.objects.get(pk=migration.pk)
    return (
        fresh.milestone_dates(),
        dict(migration.items.values_list("pk", "due_on")),
        Event.objects.filter(migration=migration).count(),
    )
