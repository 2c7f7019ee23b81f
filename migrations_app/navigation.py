"""What the header's navigation shows a person (a template context processor, config/settings.py)."""

from functools import partial

from django.http import HttpRequest

from migrations_app import access


def navigation(request: HttpRequest) -> dict:
    """`shows_lessons_link`: the Lessons page's link, for those who may open it. A callable, so that
    a page that does not render the header (a fragment for htmx) does not ask."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"shows_lessons_link": partial(access.may_read_lessons, user)}
