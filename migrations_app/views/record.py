"""The migration record: one printable page, and the same record as a PDF (record.py gathers it,
record_pdf.py draws the PDF). Read-only, for anyone who can read the migration."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from migrations_app import access, record, record_pdf


@require_GET
def migration_record(request: HttpRequest, pk: int) -> HttpResponse:
    migration, _ = access.get_migration(request.user, pk)
    context = {"migration": migration, "record": record.build(migration)}
    return render(request, "migrations_app/record.html", context)


@require_GET
def migration_record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    migration, _ = access.get_migration(request.user, pk)
    built = record.build(migration)
    filename = f"migration-record-{built.ods_code}-{timezone.localdate(built.generated_at).isoformat()}.pdf"
    response = HttpResponse(record_pdf.render_kept(built), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
