"""A migration's event log (models.Event, append-only): every change to it and its items, its
archived items' too, newest first, as an item's history page lists its own (views/items.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from migrations_app import access
from migrations_app.api.pagination import CURSOR, SignedKeysetPagination
from migrations_app.api.problems import CONTENT_TYPE, BadParameters
from migrations_app.api.serializers import Event, Problem
from migrations_app.models import Event as EventModel

# Keyed by media type as the refusals are, so that drf-spectacular reads the list (its filters and
# cursor) from the 200 answer rather than from the first refusal.
JSON = "application/json"
REFUSALS = {(code, CONTENT_TYPE): Problem for code in (403, 404, 429)}


class EventPagination(SignedKeysetPagination):
    # Newest first, as the item's history, by id: the order they were recorded in, which is their
    # times' order (each is written with the time of its change), and unlike the times one number
    # per event (the events of one change share their time), so a position for the cursor to start
    # from rather than an offset, which events written meanwhile would shift.
    ordering = ("-pk",)


@extend_schema(
    operation_id="events_list", responses={(200, JSON): Event(many=True), (400, CONTENT_TYPE): Problem, **REFUSALS}
)
@api_view(["GET"])
def event_list(request: Request, pk: int) -> Response:
    """The event log of a migration you can see, newest first."""
    migration, _ = access.get_migration(request.user, pk)
    unknown = sorted(set(request.query_params) - {CURSOR})
    if unknown:
        raise BadParameters({name: ["Not a parameter of this list"] for name in unknown})
    events = EventModel.objects.filter(migration=migration).select_related("actor", "item")
    paginator = EventPagination()
    page = paginator.paginate_queryset(events, request)
    return paginator.get_paginated_response(Event(page, many=True).data)


event_list.cls.pagination_class = EventPagination
