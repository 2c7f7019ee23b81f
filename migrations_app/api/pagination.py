"""Pages of the migration list, a cursor from one to the next.

The rows are in the dashboard's order, which may be any of its columns (RAG status, go-live,
percent done...) with ties broken by go-live, practice name and id (rows.matching): no single
column a keyset could start from. So the cursor holds the position in that order, signed (a
cursor changed by hand is refused, a 400) and bound to the filters it was made for (the next page
of another query is refused too). A page reads only its own rows (rows.Found), whatever the number
of migrations; like the dashboard's pages, rows that change between two requests may move
between pages."""

import hashlib

from django.core import signing
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from migrations_app.api.problems import BadParameters

CURSOR = "cursor"
SALT = "migrations_app.api.cursor"


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
            raise BadParameters({CURSOR: ["Use the cursor of a next or previous link as it was given"]}) from None
        if not isinstance(position, dict) or position.get("query") != _query_key(request):
            raise BadParameters({CURSOR: ["This cursor is for other filters: start again from the first page"]})
        offset = position.get("offset")
        if not isinstance(offset, int) or offset < 0:
            raise BadParameters({CURSOR: ["Use the cursor of a next or previous link as it was given"]})
        return offset


def _query_key(request) -> str:
    """The filters, search and sort of a request, whatever their order in its query string."""
    pairs = sorted((name, value) for name, values in request.query_params.lists() if name != CURSOR for value in values)
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]
