"""Request bodies: JSON only, and no larger than settings.API_MAX_BODY_BYTES.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE guards `request.body` and forms, but DRF reads the body as a
stream, past that guard: without a bound of its own a caller could send the API any amount. The
declared length is refused before anything is read, and no more than the bound is ever read (a
body sent without a length, chunked, is not read at all: WSGI hands on only what is declared)."""

import io

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than this API reads ({limit:,} bytes).")


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(limit)
        return super().parse(io.BytesIO(body), media_type, parser_context)
