"""A migration's retrospective (written after go-live by each side), and the Lessons page across the
migrations a person can see, with its CSV. The filters and the page live in the query string."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from migrations_app import access
from migrations_app.lessons.export import csv_chunks
from migrations_app.lessons.forms import LessonsForm, Options, RetrospectiveForm
from migrations_app.models import Retrospective
from migrations_app.views.paging import pagination_links, query_with

PAGE_SIZE = 20


@require_http_methods(["GET", "POST"])
def retrospective(request: HttpRequest, pk: int) -> HttpResponse:
    """Write, or rewrite, the side's retrospective (Retrospective.write); nothing is saved on an error."""
    today = timezone.localdate()
    migration, _, side = access.get_migration_to_look_back_on(request.user, pk, today)
    current = Retrospective.objects.filter(migration=migration, side=side).select_related("written_by").first()
    form = RetrospectiveForm(request.POST or None, initial=RetrospectiveForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        try:
            _, changed = Retrospective.write(
                migration,
                side,
                by=request.user,
                verdicts=form.verdicts(),
                comments=form.comments(),
                lesson=form.cleaned_data["lesson"],
                today=today,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Retrospective saved." if changed else "Nothing was changed.")
            return redirect("migrations:migration_detail", pk=pk)
    context = {
        "migration": migration,
        "form": form,
        "errors": form.error_list() if form.errors else [],
        "side_label": Retrospective.Side(side).label,
        "current": current,
    }
    status = 400 if form.errors else 200
    return render(request, "migrations_app/retrospective_form.html", context, status=status)


@require_GET
def lessons(request: HttpRequest) -> HttpResponse:
    form, found = _lessons(request)
    params = request.GET.copy()
    for name in form.errors:
        params.pop(name, None)
    page = Paginator(found.lessons(), PAGE_SIZE).get_page(form.filters().page)
    context = {
        "form": form,
        "errors": form.error_list(),
        "page": page,
        "area_counts": found.area_counts(),
        **pagination_links(params, page),
        "csv_query": query_with(params, page=None),
    }
    return render(request, "migrations_app/lessons.html", context, status=400 if form.errors else 200)


@require_GET
def lessons_csv(request: HttpRequest) -> HttpResponse:
    """The filtered lessons as CSV, every page. Streamed: see lessons/export.py."""
    form, found = _lessons(request)
    if form.errors:
        problems = "\n".join(message for _, message in form.error_list())
        return HttpResponseBadRequest(f"Check the filters:\n{problems}\n", content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(csv_chunks(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lessons-{timezone.localdate().isoformat()}.csv"'
    return response


def _lessons(request: HttpRequest):
    """The filters read from the query string, and the retrospectives they select of those the
    person may read; a person who may not read lessons is refused (403)."""
    if not access.may_read_lessons(request.user):
        raise PermissionDenied("The Lessons page is for delivery partners, ICBs and national teams.")
    visible = access.visible_retrospectives(request.user)
    form = LessonsForm(request.GET, options=Options.of(visible))
    form.is_valid()
    return form, form.filters().apply(visible)
