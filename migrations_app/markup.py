"""Django's format_html and format_html_join, for the rows a page makes by the hundred (item_rows.py,
dashboard/table.py): the same output, without the per-value cost of Django's escape() (a decorator
that looks for lazy arguments on every call, and a SafeString made for every value).
tests/test_markup.py holds them to Django's functions."""

from collections.abc import Iterable
from html import escape

from django.utils.safestring import SafeString


def html(template: str, *values) -> SafeString:
    """As format_html(template, *values): every value escaped, but one marked safe (a value with
    __html__, as conditional_escape reads it), and the result marked safe."""
    return SafeString(  # nosec B703: every value escaped
        template.format(*[value.__html__() if hasattr(value, "__html__") else escape(str(value)) for value in values])
    )


def html_join(separator: str, template: str, values: Iterable[tuple]) -> SafeString:
    """As format_html_join(separator, template, values): html(template, *each) for each tuple,
    joined by the (escaped) separator."""
    return SafeString(escape(separator).join(html(template, *each) for each in values))  # nosec B703: as html()
