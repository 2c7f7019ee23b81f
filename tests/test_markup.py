"""markup.html and markup.html_join give what Django's format_html and format_html_join give, for
every kind of value a row passes them."""

from datetime import date

import pytest
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from migrations_app.markup import html, html_join

VALUES = [
    "plain",
    "",
    "<script>alert('x') & \"y\"</script>",
    "O'Brien & Sons <Ltd>",
    "😀 é \u202e",
    mark_safe("<strong>kept</strong>"),
    SafeString("<em>&amp;</em>"),
    0,
    131,
    -1,
    True,
    None,
    date(2026, 12, 3),
    gettext_lazy("Practice manager"),
    lazy(lambda: "<b>lazy</b>", str)(),
    lazy(lambda: mark_safe("<i>lazy and safe</i>"), SafeString)(),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_one_value_is_written_as_format_html_writes_it(value):
    template = '<p class="x" title="{}">{}</p>'

    written = html(template, value, value)

    assert written == format_html(template, value, value)
    assert isinstance(written, SafeString)


def test_several_values_and_a_join_are_written_as_django_writes_them():
    rows = [(value, index) for index, value in enumerate(VALUES)]

    written = html_join("\n<br>", "<li>{} ({})</li>", rows)

    assert written == format_html_join("\n<br>", "<li>{} ({})</li>", rows)
    assert "&lt;script&gt;" in written and "<strong>kept</strong>" in written
    assert isinstance(written, SafeString)
