"""Request bodies: checked by DRF serializers that know every field they take, so that a field
misspelt or sent to the wrong action is a 400 naming it rather than a change made without it; and
their errors as problem details name each field, nested ones with dots ("milestones.go_live_on")."""

from collections.abc import Mapping

from rest_framework import serializers

from migrations_app.api.problems import BadParameters

UNKNOWN_FIELD = "Not a field of this request"


class KnownFields(serializers.Serializer):
    """A body (or part of one) whose fields are all known: each unknown one is an error of its own,
    reported with the errors of the known ones."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {str(name): [UNKNOWN_FIELD] for name in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**error.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def validated(body_class: type[serializers.Serializer], body) -> dict:
    """`body` checked by `body_class`, or a 400 naming each bad field."""
    checked = body_class(data=body)
    if not checked.is_valid():
        raise BadParameters(field_errors(checked.errors))
    return checked.validated_data


def field_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """A serializer's errors by field, nested fields named with dots."""
    if isinstance(errors, Mapping):
        flat = {}
        for name, value in errors.items():
            flat |= field_errors(value, f"{prefix}.{name}" if prefix else str(name))
        return flat
    return {prefix or "non_field_errors": [str(message) for message in errors]}
