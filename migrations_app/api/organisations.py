"""The organisations a person can see: the ICBs, delivery partners and practices of the
migrations they can see (access.visible_migrations, the one rule for reading) and those they are
members of (access.standing_of); every one, for people who read every migration (national
viewers, support admins). One list, by kind then name, a page at a time."""

from django.db.models import BigIntegerField, CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from migrations_app import access
from migrations_app.api.pagination import CURSOR, SignedCursorPagination
from migrations_app.api.problems import CONTENT_TYPE, BadParameters
from migrations_app.api.serializers import Organisation, Problem
from migrations_app.models import ICB, DeliveryPartner, Practice

KIND = "kind"
KINDS = ("delivery_partner", "icb", "practice")
COLUMNS = ("kind", "id", "name", "code", "icb_id", "delivery_partner_id")
REFUSALS = {(code, CONTENT_TYPE): Problem for code in (403, 429)}


def _text(value: str | None) -> Cast:
    # Typed, NULL too: PostgreSQL types each column of a union from its first rows, and an untyped
    # NULL there reads as text.
    return Cast(Value(value), CharField())


def _no_id() -> Cast:
    return Cast(Value(None), BigIntegerField())


def visible_organisations(user) -> dict[str, QuerySet]:
    """Each kind's organisations `user` can see, as rows of COLUMNS (unordered)."""
    partners, icbs, practices = DeliveryPartner.objects.all(), ICB.objects.all(), Practice.objects.all()
    standing = access.standing_of(user)
    if not standing.reads_every_migration:
        migrations = access.visible_migrations(user)
        partners = partners.filter(
            Q(pk__in=migrations.values("practice__delivery_partner_id")) | Q(pk__in=sorted(standing.partner_ids))
        )
        icbs = icbs.filter(Q(pk__in=migrations.values("practice__icb_id")) | Q(pk__in=sorted(standing.icb_ids)))
        practices = practices.filter(
            Q(pk__in=migrations.values("practice_id")) | Q(pk__in=sorted(standing.practice_ids))
        )
    rows = {
        "delivery_partner": partners.annotate(
            kind=_text("delivery_partner"), code=_text(None), icb_of=_no_id(), partner_of=_no_id()
        ),
        "icb": icbs.annotate(kind=_text("icb"), icb_of=_no_id(), partner_of=_no_id()),
        "practice": practices.annotate(
            kind=_text("practice"), code=F("ods_code"), icb_of=F("icb_id"), partner_of=F("delivery_partner_id")
        ),
    }
    columns = ("kind", "id", "name", "code", "icb_of", "partner_of")  # COLUMNS, as annotated here
    return {kind: found.order_by().values_list(*columns) for kind, found in rows.items()}


@extend_schema(
    operation_id="organisations_list",
    parameters=[
        OpenApiParameter(KIND, OpenApiTypes.STR, enum=KINDS, description="Only organisations of this kind."),
        OpenApiParameter(CURSOR, OpenApiTypes.STR, description="From a page's next or previous link."),
    ],
    responses={200: Organisation(many=True), (400, CONTENT_TYPE): Problem, **REFUSALS},
)
@api_view(["GET"])
def organisation_list(request: Request) -> Response:
    """The ICBs, delivery partners and practices you can see, by kind then name."""
    kind = request.query_params.get(KIND, "")
    errors = {name: ["Not a parameter of this list"] for name in sorted(set(request.query_params) - {KIND, CURSOR})}
    if kind and kind not in KINDS:
        errors[KIND] = [f"Give one of {', '.join(KINDS)}"]
    if errors:
        raise BadParameters(errors)
    found = visible_organisations(request.user)
    parts = [found[kind]] if kind else list(found.values())
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    paginator = SignedCursorPagination()
    page = paginator.paginate_rows(rows.order_by("kind", "name", "id"), request)
    organisations = [dict(zip(COLUMNS, row, strict=True)) for row in page]
    return paginator.get_paginated_response(Organisation(organisations, many=True).data)


organisation_list.cls.pagination_class = SignedCursorPagination
