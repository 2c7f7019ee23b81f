"""Starting migrations: one with the start form, or many from an ICB's order tracker (upload,
preview, confirm), and the tracker's template file. Who may, and for which practices, is
access.starter(); an upload is its delivery partner's, open to those who may import for it
(access.get_import)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET, require_http_methods

from migrations_app import access, scheduling
from migrations_app.models import ICB
from migrations_app.portfolio import importing
from migrations_app.portfolio.forms import ImportUploadForm, PreviewPageForm, StartMigrationForm
from migrations_app.portfolio.tracker_file import COLUMNS, MAX_BYTES, MAX_ROWS, FileProblem, template_csv, template_xlsx

TEMPLATE_FILES = {
    "csv": (template_csv, "text/csv; charset=utf-8"),
    "xlsx": (template_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@require_http_methods(["GET", "POST"])
def migration_start(request: HttpRequest) -> HttpResponse:
    """The start form. A GET with `search` lists the practices found: the whole page, or (htmx) only
    the list, in place."""
    starter = access.starter(request.user)
    if request.method == "GET":
        form = StartMigrationForm(starter=starter, search=request.GET.get("search", ""))
        if request.htmx:
            return render(request, "migrations_app/_practice_results.html", {"form": form, "swap": True})
        return render(request, "migrations_app/migration_start.html", {"form": form})
    form = StartMigrationForm(request.POST, starter=starter, search=request.POST.get("search", ""))
    if form.is_valid() and form.needs_checking():
        # Allowed, but worth a second look before anything is saved: sent again unchanged, it starts.
        return render(request, "migrations_app/migration_start.html", {"form": form, "checking": True})
    if form.is_valid():
        try:
            migration = form.save(created_by=request.user)
        except ValidationError as error:
            form.add_model_errors(error)
        else:
            messages.success(request, f"Migration started for {migration.practice}.")
            warnings = scheduling.milestone_warnings(migration.milestone_dates())
            if warnings:
                # Allowed, but worth a second look: the migration page shows each next to its milestone.
                count = f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
                messages.warning(request, f"Check the milestone dates: {count}, shown under Milestones.")
            return redirect("migrations:migration_detail", pk=migration.pk)
    return render(request, "migrations_app/migration_start.html", {"form": form}, status=400)


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    starter = access.starter(request.user)
    if request.method == "GET":
        form = ImportUploadForm(starter=starter)
    else:
        form = ImportUploadForm(request.POST, request.FILES, starter=starter)
        if form.is_valid():
            upload = form.save(uploaded_by=request.user)
            return redirect("migrations:import_preview", pk=upload.pk)
    context = {
        "form": form,
        "columns": COLUMNS,
        "max_mb": MAX_BYTES // 1024 // 1024,
        "max_rows": MAX_ROWS,
        # The ICB column takes a code (or a name): the codes are listed, as nothing else shows them.
        "icbs": ICB.objects.order_by("name").values_list("code", "name"),
    }
    return render(request, "migrations_app/import_upload.html", context, status=400 if form.errors else 200)


APPLIED_LABELS = {
    importing.RowKind.NEW: "Started",
    importing.RowKind.UPDATE: "Updated",
    importing.RowKind.UNCHANGED: "Unchanged",
}


@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what the file would do, row by row (saves nothing). POST: apply it all, or nothing."""
    upload, starter = access.get_import(request.user, pk)
    if request.method == "POST":
        try:
            counts = importing.apply(upload, starter, request.user)
        except (importing.ImportRefused, FileProblem) as refused:
            messages.error(request, str(refused))
            return redirect("migrations:import_preview", pk=pk)
        messages.success(
            request,
            f"Imported {upload.filename}: {counts[importing.RowKind.NEW]} "
            f"migration{pluralize(counts[importing.RowKind.NEW])} started, "
            f"{counts[importing.RowKind.UPDATE]} updated, {counts[importing.RowKind.UNCHANGED]} unchanged.",
        )
        # The import's own page: what it did to each row, with a link to each migration.
        return redirect("migrations:import_preview", pk=pk)
    show, page = PreviewPageForm(request.GET).values()
    try:
        preview = importing.preview(upload, starter, show=show, page=page)
    except FileProblem as problem:
        context = {"upload": upload, "file_problem": problem.messages}
        return render(request, "migrations_app/import_preview.html", context, status=400)
    pages = Paginator(range(preview.matching), importing.PAGE_SIZE)
    # Applied: what the import did to the rows (none had an error, or it would not have been).
    labels = APPLIED_LABELS if upload.applied_at and upload.row_kinds else dict(importing.RowKind.choices)
    context = {
        "upload": upload,
        "preview": preview,
        "show": show,
        "filters": [("", "All rows", preview.total)]
        + [(kind, label, preview.counts[kind]) for kind, label in labels.items()],
        "page_links": list(pages.get_elided_page_range(min(page, pages.num_pages), on_each_side=1, on_ends=1)),
        "ellipsis": pages.ELLIPSIS,
    }
    return render(request, "migrations_app/import_preview.html", context)


@require_GET
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    """The order tracker's columns, as an empty CSV or Excel file to fill in."""
    access.starter(request.user)
    build, content_type = TEMPLATE_FILES[kind]
    response = HttpResponse(build(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="migrations-import-template.{kind}"'
    return response
