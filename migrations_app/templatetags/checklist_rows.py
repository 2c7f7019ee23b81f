"""{% item_row item %}: a checklist item's row on the migration page (item_rows.row)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrations_app import item_rows

register = template.Library()


@register.simple_tag(takes_context=True)
def item_row(context: template.Context, item) -> SafeString:
    # The page's CSRF token, as {% csrf_token %} writes it, made once for all its rows.
    csrf_input = context.render_context.get("csrf_input")
    if csrf_input is None:
        token = context.get("csrf_token")
        if token and token != "NOTPROVIDED":
            csrf_input = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
        else:
            csrf_input = ""
        context.render_context["csrf_input"] = csrf_input
    return item_rows.row(item, csrf_input)
