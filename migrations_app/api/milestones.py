"""A migration's milestones: as they stand, and a change to them, previewed or saved.

As the milestones page (views/milestones.py): whoever may edit them on the page may change them
here (access.get_migration with Permission.EDIT_MILESTONES: a 403 for anyone else, and for
everyone once the migration is finished); the dates are checked by the page's rules (each date
within the range forms.parse_date allows, their order by scheduling.milestone_order_errors); the
preview is PracticeMigration.preview_milestone_change with scheduling.milestone_warnings, and the
change PracticeMigration.change_milestones, which replans the open items in one transaction."""

from datetime import date

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from migrations_app import access, scheduling
from migrations_app.access import Permission
from migrations_app.api.bodies import KnownFields, field_errors, validated
from migrations_app.api.problems import CONTENT_TYPE, BadParameters
from migrations_app.api.serializers import MilestoneDates, MilestonesAsTheyStand, MilestonesChanged, Problem
from migrations_app.forms import REASON_MAX, parse_date
from migrations_app.models import Milestone

REFUSALS = {(code, CONTENT_TYPE): Problem for code in (403, 404, 429)}
# Errors name the dates as the body does: under "milestones", by their fields' names.
BY_FIELD = {milestone.field_name: milestone for milestone in Milestone}


class KnownMilestoneDates(KnownFields, MilestoneDates):
    pass


class MilestonesChange(KnownFields):
    milestones = KnownMilestoneDates(
        help_text="The milestones to change, by field; those left out keep their dates; null: not agreed yet."
    )
    reason = serializers.CharField(
        max_length=REASON_MAX, required=False, default="", allow_blank=True, help_text="Kept in the event log."
    )
    preview = serializers.BooleanField(
        required=False, default=False, help_text="True: answer what would change, and save nothing."
    )


@extend_schema(methods=["GET"], operation_id="milestones_retrieve", responses={200: MilestonesAsTheyStand, **REFUSALS})
@extend_schema(
    methods=["PATCH"],
    operation_id="milestones_partial_update",
    request=MilestonesChange,
    responses={200: MilestonesChanged, (400, CONTENT_TYPE): Problem, **REFUSALS},
    examples=[
        OpenApiExample(
            "Preview go-live a week later",
            {"milestones": {"go_live_on": "2025-06-16"}, "reason": "Supplier moved the date", "preview": True},
            request_only=True,
        )
    ],
)
@api_view(["GET", "PATCH"])
def milestones(request: Request, pk: int) -> Response:
    """GET: a migration's milestones as they stand. PATCH: change some of them, or with `preview`
    see which due dates would move (and what to check about the dates) without saving."""
    if request.method == "PATCH":
        return _change(request, pk)
    migration, migration_access = access.get_migration(request.user, pk)
    dates = migration.milestone_dates()
    return Response(
        MilestonesAsTheyStand(
            {
                "milestones": _by_field(dates),
                "old_system_access_end_expected_on": scheduling.expected_old_system_access_end(dates),
                "warnings": _warnings(dates),
                "may_change": migration_access.can_edit_milestones,
            }
        ).data
    )


def _change(request: Request, pk: int) -> Response:
    migration, _ = access.get_migration(request.user, pk, Permission.EDIT_MILESTONES)
    body = validated(MilestonesChange, request.data)
    current = migration.milestone_dates()
    given = {BY_FIELD[name].value: value for name, value in body["milestones"].items()}
    _check(given, current | given)
    changes = {key: value for key, value in given.items() if value != current[key]}
    preview = body["preview"] or not changes
    if preview:
        moves = migration.preview_milestone_change(changes) if changes else []
    else:
        try:
            moves = migration.change_milestones(changes, by=request.user, reason=body["reason"])
        except DjangoValidationError as error:  # the order, checked again under the migration's lock
            raise BadParameters(_under_milestones(error.message_dict)) from None
    return Response(
        MilestonesChanged(
            {
                "preview": body["preview"],
                "saved": not preview,
                "milestones": _by_field(current | changes),
                "changes": [
                    {
                        "milestone": Milestone(key).field_name,
                        "label": Milestone(key).label,
                        "old_on": current[key],
                        "new_on": value,
                    }
                    for key, value in changes.items()
                ],
                "moves": moves,
                "warnings": _warnings(current | changes),
            }
        ).data
    )


def _check(given: dict[str, date | None], dates: dict[str, date | None]) -> None:
    """The page's checks of the dates (MilestonesForm.clean): each given one within the range
    the date input allows, then all of them in order; a 400 naming each date refused."""
    errors = {}
    for key, value in given.items():
        if value is not None:
            milestone = Milestone(key)
            try:
                parse_date(milestone.label, str(value.day), str(value.month), str(value.year))
            except DjangoValidationError as error:
                errors[milestone.field_name] = error.messages
    if not errors:
        errors = {field: [message] for field, message in scheduling.milestone_order_errors(dates).items()}
    if errors:
        raise BadParameters(_under_milestones(errors))


def _under_milestones(errors: dict) -> dict[str, list[str]]:
    return field_errors({"milestones": errors})


def _by_field(dates: dict[str, date | None]) -> dict[str, date | None]:
    return {Milestone(key).field_name: value for key, value in dates.items()}


def _warnings(dates: dict[str, date | None]) -> list[dict]:
    return [
        {"milestone": warning.milestone.field_name, "message": warning.message}
        for warning in scheduling.milestone_warnings(dates)
    ]
