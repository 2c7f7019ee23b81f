"""The dashboard across practices, its CSV export and the page that explains the RAG status.

Everything is a plain GET: the filters, the sort and the page live in the query string, so a view
can be bookmarked and shared. Rows come only from `access.visible_migrations(user)`.
"""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from migrations_app import access
from migrations_app.dashboard import panel, phases, rag, rows, table
from migrations_app.dashboard.export import csv_chunks
from migrations_app.dashboard.forms import DashboardForm
from migrations_app.dashboard.summary import SOON_SHOWN, summarise
from migrations_app.models import checkins
from migrations_app.models.checklist_items import CATCH_UP_DAYS
from migrations_app.views.paging import pagination_links, query_with

PAGE_SIZE = 50


@dataclass(frozen=True)
class Heading:
    column: rows.Column
    url: str
    aria_sort: str


NO_MIGRATION = (
    "The dashboard shows the migrations you work on, and your account has no role at a practice, "
    "a delivery partner or an ICB."
)


def _refuse_without_migrations(request: HttpRequest) -> None:
    """Someone who reads no migration (a template editor) has no dashboard: a 403 that says why,
    rather than an empty one with filters and a CSV of headings."""
    if access.standing_of(request.user).reads_no_migration:
        raise PermissionDenied(NO_MIGRATION)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    _refuse_without_migrations(request)
    today = timezone.localdate()
    # Read first as kept (the figures of the day are counted by every change and the quarter-
    # hourly task); if the summary finds rows not counted for today, read again counting them.
    form, filters, found = _rows(request, today, count_stale=False)
    summary = summarise(found, form.options, today)
    if summary.stale:
        found = rows.Found(request.user, filters, today, form.options)
        summary = summarise(found, form.options, today)
    found.total = summary.total  # the paginator's count: the summary has counted the rows
    page = Paginator(found, PAGE_SIZE).get_page(filters.page)
    links = _links(request, form, filters, page, summary)
    context = {
        "form": form,
        "errors": form.error_list(),
        "filters": filters,
        "page": page,
        "summary": summary,
        "summary_panel": panel.section(
            summary, links["rag_links"], links["status_links"], links["soon_url"], SOON_SHOWN
        ),
        "table_body": table.body(page.object_list),
        # The "Start a migration" and "Import migrations" buttons (_portfolio_actions.html).
        "may_start_migrations": access.may_start_migrations(request.user),
        **links,
    }
    return render(request, "migrations_app/dashboard.html", context, status=400 if form.errors else 200)


@require_GET
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    """The filtered view as CSV, sorted as on the page, every page. Streamed: see export.csv_chunks."""
    _refuse_without_migrations(request)
    today = timezone.localdate()
    form, _, found = _rows(request, today, with_last_change=True)
    if form.errors:
        messages = "\n".join(message for _, message in form.error_list())
        return HttpResponseBadRequest(f"Check the filters:\n{messages}\n", content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(csv_chunks(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="migrations-{today.isoformat()}.csv"'
    return response


@require_GET
def rag_help(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "migrations_app/rag_help.html",
        {
            "far_behind_percent": rag.FAR_BEHIND_PERCENT,
            "soon_days": rows.SOON_DAYS,
            "Rag": rag.Rag,
            "phase_starts": phases.PHASE_STARTS,
            "dates_not_agreed": phases.DATES_NOT_AGREED[1],
            "missed_after_days": checkins.MISSED_AFTER_DAYS,
            "catch_up_days": CATCH_UP_DAYS,
        },
    )


def _rows(
    request: HttpRequest, today: date, *, with_last_change: bool = False, count_stale: bool = True
) -> tuple[DashboardForm, rows.Filters, rows.Found]:
    """The form read from the query string, and the rows its valid filters select, in order."""
    options = rows.options_for(request.user)
    form = DashboardForm(request.GET, options=options)
    form.is_valid()
    filters = form.filters()
    found = rows.Found(
        request.user, filters, today, options, with_last_change=with_last_change, count_stale=count_stale
    )
    return form, filters, found


def _links(request: HttpRequest, form: DashboardForm, filters: rows.Filters, page, summary) -> dict:
    """The page's links, each the current query string changed: sort headings, pages, the RAG
    counts, the go-lives to come, the CSV. They carry the filters in force, not a bad value that
    was ignored."""
    params = request.GET.copy()
    for name in form.errors:
        params.pop(name, None)
    return {
        "headings": _headings(params, filters.sort),
        **pagination_links(params, page),
        "rag_links": [
            (rag, count, "?" + query_with(params, rag=rag.value, page=None)) for rag, count in summary.by_rag
        ],
        "status_links": [
            (label, count, "?" + query_with(params, status=status, rag=None, page=None))
            for status, label, count in summary.not_rated
        ],
        "soon_url": "?" + query_with(params, go_live="next-4-weeks", page=None),
        "csv_query": query_with(params, page=None),
    }


def _headings(params: QueryDict, sort: str) -> list[Heading]:
    """Each column's heading; a sortable one links to sorting by it, the other way round if the
    table is sorted by it already. The page goes back to the first."""
    headings = []
    for column in rows.TABLE_COLUMNS:
        if column.key not in rows.SORTABLE:
            headings.append(Heading(column, "", ""))
            continue
        aria_sort = {column.key: "ascending", f"-{column.key}": "descending"}.get(sort, "")
        next_sort = f"-{column.key}" if sort == column.key else column.key
        # Back at the table, not the top of the page: on a phone the list is five screens down.
        url = "?" + query_with(params, sort=next_sort, page=None) + "#results-heading"
        headings.append(Heading(column, url, aria_sort))
    return headings
