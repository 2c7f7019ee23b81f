"""The links of a filtered list in pages (the dashboard, the Lessons page): each is the query
string in force with one thing changed, and the numbered pagination's links
(templates/includes/_pagination.html draws them)."""

from django.http import QueryDict


def query_with(params: QueryDict, **changes) -> str:
    """`params` with `changes` applied (None removes a key), URL-encoded."""
    query = params.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    return query.urlencode()


def pagination_links(params: QueryDict, page) -> dict:
    """What _pagination.html needs besides the page: (number or ellipsis, URL) for each numbered
    link, and the previous and next pages' URLs."""
    return {
        "page_links": [
            (number, "?" + query_with(params, page=str(number)) if number != page.paginator.ELLIPSIS else "")
            for number in page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1)
        ],
        "previous_url": "?" + query_with(params, page=str(page.number - 1)),
        "next_url": "?" + query_with(params, page=str(page.number + 1)),
    }
