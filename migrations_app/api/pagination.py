"""Pages of the migration list, a cursor from one to the next.

The rows are in the dashboard's order, which may be any of its columns (RAG status, go-live,
percent done...) with ties broken by go-live, practice name and id (rows.matching): no single
column a keyset could start from. So the cursor holds the position in that order, signed (a
cursor changed by hand is refused, a 400) and bound to the filters it was made for (the next page
of another query is refused too). A page reads only its own rows (rows.Found), whatever the number
of migrations; like the dashboard's pages, rows that change between two requests may move
between pages.

A list in a fixed order of its own (a migration's items in checklist order, its event log newest
first) pages by position instead (SignedKeysetPagination): DRF's cursor, signed and bound to the
filters in the same way, so that rows added or changed between two requests move no other row to
another page."""

import hashlib

from django.core import signing
from rest_framework.pagination import BasePagination, Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from migrations_app.api.problems import BadParameters

CURSOR = "cursor"
SALT = "migrations_app.api.cursor"
KEYSET_SALT = "migrations_app.api.keyset"
TAMPERED = "Use the cursor of a next or previous link as it was given"
OTHER_FILTERS = "This cursor is for other filters: start again from the first page"


class SignedCursorPagination(BasePagination):
    page_size = api_settings.PAGE_SIZE

    def paginate_rows(self, found, request) -> list:
        """The page of `found` (rows.Found) the request's cursor points at; the first without one."""
        self.request = request
        self.offset = self._offset(request)
        rows = found[self.offset : self.offset + self.page_size + 1]  # one more: is there a next page?
        self.has_next = len(rows) > self.page_size
        return rows[: self.page_size]

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "next": self._link(self.offset + self.page_size) if self.has_next else None,
                "previous": self._link(self.offset - self.page_size) if self.offset else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def _link(self, offset: int) -> str:
        url = self.request.build_absolute_uri()
        if offset <= 0:
            return remove_query_param(url, CURSOR)
        cursor = signing.dumps({"offset": offset, "query": _query_key(self.request)}, salt=SALT, compress=True)
        return replace_query_param(url, CURSOR, cursor)

    def _offset(self, request) -> int:
        cursor = request.query_params.get(CURSOR)
        if not cursor:
            return 0
        try:
            position = signing.loads(cursor, salt=SALT)
        except signing.BadSignature:
            raise BadParameters({CURSOR: [TAMPERED]}) from None
        if not isinstance(position, dict) or position.get("query") != _query_key(request):
            raise BadParameters({CURSOR: [OTHER_FILTERS]})
        offset = position.get("offset")
        if not isinstance(offset, int) or offset < 0:
            raise BadParameters({CURSOR: [TAMPERED]})
        return offset


class SignedKeysetPagination(CursorPagination):
    """DRF's cursor pagination over a queryset in `ordering` (set per list: its first column is
    the position, ties are counted past by an offset), with the cursor signed and bound to the
    filters it was made for, as SignedCursorPagination's: a cursor changed by hand is a 400, never
    a position of the caller's making in a query (DRF's own is plain base64)."""

    cursor_query_param = CURSOR
    page_size = api_settings.PAGE_SIZE

    def encode_cursor(self, cursor: Cursor) -> str:
        token = {"offset": cursor.offset, "reverse": cursor.reverse, "position": cursor.position}
        signed = signing.dumps({**token, "query": _query_key(self.request)}, salt=KEYSET_SALT, compress=True)
        return replace_query_param(self.base_url, self.cursor_query_param, signed)

    def decode_cursor(self, request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            token = signing.loads(encoded, salt=KEYSET_SALT)
        except signing.BadSignature:
            raise BadParameters({CURSOR: [TAMPERED]}) from None
        if token.get("query") != _query_key(request):
            raise BadParameters({CURSOR: [OTHER_FILTERS]})
        # Signed by us, so of the types we wrote; the offset capped as DRF caps its own.
        return Cursor(min(token["offset"], self.offset_cutoff), token["reverse"], token["position"])


def _query_key(request) -> str:
    """The filters, search and sort of a request, whatever their order in its query string."""
    pairs = sorted((name, value) for name, values in request.query_params.lists() if name != CURSOR for value in values)
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]
