"""A migration's checklist items: the list (filters.ItemFilter), one item, and the changes the
item's page makes (mark done, reopen, not applicable, blocked, note, sign off), all through one
route, `actions/`, with the action named in the body.

A change goes as the page's does (views/items.py). The action named in the body says which it is
(a 400 when it names none); the item is fetched, locked, by the same access helper as the page's
action (a 404 for an item the caller cannot see, a 403 with the page's reason for one they may not
change); then the rest of the body is checked (a 400 naming each bad field); then the same model
method runs with the revision the caller read (a 409 when the item changed since). All in one
transaction: every refusal changes nothing."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from migrations_app import access
from migrations_app.api.bodies import KnownFields, validated
from migrations_app.api.filters import ItemFilter
from migrations_app.api.pagination import CURSOR, SignedKeysetPagination
from migrations_app.api.problems import CONTENT_TYPE, BadParameters
from migrations_app.api.serializers import Item, Problem
from migrations_app.forms import NOTE_MAX, REASON_MAX
from migrations_app.models import ChecklistItem, User
from migrations_app.models.checklist_items import StaleItemError

# Keyed by media type as the refusals are, so that drf-spectacular reads the list (its filters and
# cursor) from the 200 answer rather than from the first refusal.
JSON = "application/json"
REFUSALS = {(code, CONTENT_TYPE): Problem for code in (403, 404, 429)}
# The largest revision the database holds: a larger number is no revision (and no query's parameter).
LARGEST_REVISION = 2**31 - 1


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# Items are numbered within their phase: one number for checklist order (the phase, then the item)
# is a position the cursor can start from (a column of its own: DRF's cursor pages by the first
# column of its order, and counts past ties by offset, which items ticked meanwhile would shift).
PHASE_SPAN = 100_000


class ItemPagination(SignedKeysetPagination):
    ordering = ("checklist_position", "pk")


class Change(KnownFields):
    action = serializers.ChoiceField(
        choices=["complete", "reopen", "not-applicable", "blocked", "note", "sign-off"],
        help_text="complete: mark done (not a gate). reopen: back to to do. not-applicable, blocked: with a "
        "reason. note: replace the note. sign-off: sign a gate (with an override_reason while items it waits "
        "for are open).",
    )
    revision = serializers.IntegerField(
        min_value=0, max_value=LARGEST_REVISION, help_text="The item's revision as you read it."
    )


class Reopen(Change):
    reason = serializers.CharField(
        max_length=REASON_MAX, required=False, default="", allow_blank=True, help_text="Kept in the item's history."
    )


def _reason(label: str) -> serializers.CharField:
    # The page's message (forms.ReasonForm).
    message = f"Enter a reason why this item is {label}"
    return serializers.CharField(max_length=REASON_MAX, error_messages={"required": message, "blank": message})


class NotApplicable(Change):
    reason = _reason("not applicable")


class Blocked(Change):
    reason = _reason("blocked")


class Note(Change):
    note = serializers.CharField(max_length=NOTE_MAX, allow_blank=True, help_text="The whole note; empty clears it.")


class SignOff(Change):
    override_reason = serializers.CharField(
        max_length=REASON_MAX,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why sign while items the gate waits for are open: needed then, kept on the item.",
    )


class ItemChangeRequest(Change):
    """The body of a change, for the schema: `action` and `revision`, and the field the action takes."""

    reason = serializers.CharField(required=False, help_text="reopen (optional), not-applicable, blocked.")
    note = serializers.CharField(required=False, help_text="note.")
    override_reason = serializers.CharField(required=False, help_text="sign-off.")


def _complete(item: ChecklistItem, by: User, data: dict) -> None:
    if item.is_gate:
        # A gate needs its sign-off (who signed, and any override), not a bare tick (as on the page).
        raise DjangoValidationError({"action": 'A gate is signed off: use the action "sign-off".'})
    # ChecklistItem.complete takes no revision (done already, it changes nothing); the item was
    # read under lock (access's `lock`), so this is the check _lock makes for the other changes.
    if item.revision != data["revision"]:
        raise StaleItemError()
    item.complete(by)


@dataclass(frozen=True)
class Action:
    fetch: Callable  # the access helper of the page's action: (user, pk, item_pk, lock=) -> (item, access)
    body: type[Change]
    change: Callable[[ChecklistItem, User, dict], None]


ACTIONS = {
    "complete": Action(access.get_item_to_work_on, Change, _complete),
    "reopen": Action(
        access.get_item_to_reopen,
        Reopen,
        lambda item, by, data: item.reopen(by, reason=data["reason"], expected_revision=data["revision"]),
    ),
    "not-applicable": Action(
        access.get_item_to_change,
        NotApplicable,
        lambda item, by, data: item.mark_not_applicable(by, data["reason"], expected_revision=data["revision"]),
    ),
    "blocked": Action(
        access.get_item_to_change,
        Blocked,
        lambda item, by, data: item.mark_blocked(by, data["reason"], expected_revision=data["revision"]),
    ),
    "note": Action(
        access.get_item_to_work_on,
        Note,
        lambda item, by, data: item.set_note(by, data["note"], expected_revision=data["revision"]),
    ),
    "sign-off": Action(
        access.get_gate_to_sign,
        SignOff,
        lambda item, by, data: item.sign_off(
            by, override_reason=data["override_reason"], expected_revision=data["revision"]
        ),
    ),
}


def _context(request: Request, item_access: access.Access) -> dict:
    return {"request": request, "access": item_access, "today": timezone.localdate()}


@extend_schema(
    operation_id="items_list",
    responses={(200, JSON): Item(many=True), (400, CONTENT_TYPE): Problem, **REFUSALS},
)
@api_view(["GET"])
def item_list(request: Request, pk: int) -> Response:
    """The items of a migration you can see, in checklist order, filtered."""
    migration, migration_access = access.get_migration(request.user, pk)
    items = (
        migration.items.select_related("phase", "owner", "completed_by")
        .annotate(checklist_position=F("phase__position") * PHASE_SPAN + F("position"))
        .order_by()
    )
    today = timezone.localdate()
    found = ItemFilter(request.query_params, items, migration=migration, access=migration_access, today=today)
    errors = {} if found.is_valid() else {name: list(messages) for name, messages in found.errors.items()}
    errors |= {
        name: ["Not a parameter of this list"]
        for name in sorted(set(request.query_params) - {*ItemFilter.base_filters, CURSOR})
    }
    if errors:
        raise BadParameters(errors)
    paginator = ItemPagination()
    page = paginator.paginate_queryset(found.qs, request)
    for item in page:
        item.migration = migration  # whose item it is, and its due state, go by its migration
    return paginator.get_paginated_response(Item(page, many=True, context=_context(request, migration_access)).data)


# For the schema: the list's filters (django-filter) and its pages.
item_list.cls.queryset = ChecklistItem.objects.none()
item_list.cls.filter_backends = [DjangoFilterBackend]
item_list.cls.filterset_class = ItemFilter
item_list.cls.pagination_class = ItemPagination


@extend_schema(operation_id="items_retrieve", responses={200: Item, **REFUSALS})
@api_view(["GET"])
def item_detail(request: Request, pk: int, item_pk: int) -> Response:
    """One item of a migration you can see."""
    item, item_access = access.get_item(request.user, pk, item_pk)
    return Response(Item(item, context=_context(request, item_access)).data)


@extend_schema(
    operation_id="items_action",
    request=ItemChangeRequest,
    responses={200: Item, (400, CONTENT_TYPE): Problem, (409, CONTENT_TYPE): Problem, **REFUSALS},
    examples=[
        OpenApiExample("Mark done", {"action": "complete", "revision": 3}, request_only=True),
        OpenApiExample(
            "Blocked", {"action": "blocked", "revision": 3, "reason": "Waiting for the supplier"}, request_only=True
        ),
    ],
)
@api_view(["POST"])
def item_action(request: Request, pk: int, item_pk: int) -> Response:
    """Change an item as its page does; the answer is the item as it now is, with its new revision."""
    body = request.data
    named = body.get("action") if isinstance(body, dict) else None
    action = ACTIONS.get(named) if isinstance(named, str) else None
    if action is None:
        validated(Change, body)  # names what is wrong with the action (and the rest)
    try:
        with transaction.atomic():
            item, _ = action.fetch(request.user, pk, item_pk, lock=True)
            action.change(item, request.user, validated(action.body, body))
    except StaleItemError as error:
        raise Conflict(error.messages[0]) from None
    except DjangoValidationError as error:
        # The model's refusal (a gate that waits for open items, a migration that cannot complete).
        errors = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
        raise BadParameters(errors) from None
    item, item_access = access.get_item(request.user, pk, item_pk)
    return Response(Item(item, context=_context(request, item_access)).data)
