"""The API's views: read only, each fetching through access (access.visible_migrations by way of
the dashboard's rows, access.get_migration) and answering what the dashboard and the migration
page compute. Authentication, permissions, throttles, pagination and errors are the defaults of
REST_FRAMEWORK in config/settings.py."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from migrations_app import access, checklist
from migrations_app.api.pagination import CURSOR, SignedCursorPagination
from migrations_app.api.problems import CONTENT_TYPE, BadParameters
from migrations_app.api.serializers import PHASE_KEYS, MigrationDetail, MigrationRow, Phase, Problem, row_data
from migrations_app.dashboard import rows
from migrations_app.dashboard.forms import DashboardForm

# The dashboard's query parameters, by the dashboard's names; the page is a cursor here.
FILTERS = [name for name in DashboardForm.base_fields if name != "page"]
MULTIPLE = {"rag"}
FACETS = {"icb", "delivery_partner", "suppliers"}
# The refusals every route may answer, as problem details.
REFUSALS = {(status, CONTENT_TYPE): Problem for status in (403, 429)}


def _parameter(name: str) -> OpenApiParameter:
    field = DashboardForm.base_fields[name]
    # The phase's choices are set per request (the checklists' titles); their keys are fixed.
    choices = PHASE_KEYS if name == "phase" else [str(key) for key, _ in getattr(field, "choices", []) if key]
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        description=str(field.label or name) + (" (repeat for more than one)" if name in MULTIPLE else ""),
        enum=choices or None,
        many=name in MULTIPLE,
        explode=True if name in MULTIPLE else None,
    )


@extend_schema(
    operation_id="migrations_list",
    parameters=[
        *(_parameter(name) for name in FILTERS),
        OpenApiParameter(CURSOR, OpenApiTypes.STR, description="From a page's next or previous link."),
    ],
    responses={200: MigrationRow(many=True), (400, CONTENT_TYPE): Problem, **REFUSALS},
)
@api_view(["GET"])
def migration_list(request: Request) -> Response:
    """The migrations you can see, as the dashboard lists them, with its filters, search and sort."""
    # The facets (ICBs, partners, systems) only to check a filter by one of them.
    options = rows.options_for(request.user, facets=not FACETS.isdisjoint(request.query_params))
    form = DashboardForm(request.query_params, options=options)
    form.is_valid()
    # Every bad parameter at once: bad values, and parameters the list does not know (a misspelt
    # filter silently ignored would list everything).
    errors = {name: list(messages) for name, messages in form.errors.items()}
    errors |= {
        name: ["Not a parameter of this list"] for name in sorted(set(request.query_params) - {*FILTERS, CURSOR})
    }
    if errors:
        raise BadParameters(errors)
    found = rows.Found(request.user, form.filters(), timezone.localdate(), options)
    paginator = SignedCursorPagination()
    page = paginator.paginate_rows(found, request)
    return paginator.get_paginated_response(row_data(page, request))


# For the schema: the list's answer is paginated as the pagination class describes it.
migration_list.cls.pagination_class = SignedCursorPagination


@extend_schema(
    operation_id="migrations_retrieve",
    responses={200: MigrationDetail, (404, CONTENT_TYPE): Problem, **REFUSALS},
)
@api_view(["GET"])
def migration_detail(request: Request, pk: int) -> Response:
    """One migration you can see: its dashboard row, and its checklist's phases with their progress."""
    migration, migration_access = access.get_migration(request.user, pk)
    today = timezone.localdate()
    options = rows.options_for(request.user, facets=False)
    found = rows.Found(request.user, rows.Filters(status="all"), today, options, migration_pk=migration.pk)
    row = next(iter(found[:1]), None)
    if row is None:  # gone since get_migration read it
        raise NotFound
    phases = checklist.build(migration, today, migration_access, name_people=False).phases
    return Response({**MigrationRow(row, context={"request": request}).data, "phases": Phase(phases, many=True).data})
