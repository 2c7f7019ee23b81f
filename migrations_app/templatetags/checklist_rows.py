"""{% item_row item %}: a checklist item's row on the migration page (item_rows.row); with
`focus=True`, as the answer to a tick has it (its main button focused). {% this_week checklist %}:
the page's "This week" panel (this_week.section), `oob=True` in the answer to an item's action.
{% gate_readiness gate %}: a gate's readiness to sign, in its row (item_rows.readiness), `oob=True`
for the gates an item's change moves. {% phase_progress phase %}, {% phase_summary phase %},
{% overall_progress checklist %}, {% view_count view %}, {% current_phase checklist %} and
{% rag_status checklist %}: the other parts of the page that an item's change moves (page_parts.py),
`oob=True` in the answer to it."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrations_app import item_rows, page_parts
from migrations_app import this_week as this_week_panel

register = template.Library()


@register.simple_tag(takes_context=True)
def item_row(context: template.Context, item, focus: bool | str = False) -> SafeString:
    # The page's CSRF token, as {% csrf_token %} writes it, made once for all its rows.
    csrf_input = context.render_context.get("csrf_input")
    if csrf_input is None:
        token = context.get("csrf_token")
        if token and token != "NOTPROVIDED":
            csrf_input = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
        else:
            csrf_input = ""
        context.render_context["csrf_input"] = csrf_input
    return item_rows.row(item, csrf_input, focus)


@register.simple_tag
def this_week(checklist, oob: bool = False) -> SafeString:
    return this_week_panel.section(checklist, oob)


@register.simple_tag
def gate_readiness(gate, oob: bool = False) -> SafeString:
    return item_rows.readiness(gate, oob)


@register.simple_tag
def shortened(words: str, page_url: str, what: str, title: str, lines: bool = False) -> SafeString:
    """A note or a reason as a row shows it (item_rows.shortened)."""
    return item_rows.shortened(words, page_url, what, title, lines=lines)


register.simple_tag(page_parts.phase_progress, name="phase_progress")
register.simple_tag(page_parts.phase_summary, name="phase_summary")
register.simple_tag(page_parts.progress, name="overall_progress")
register.simple_tag(page_parts.view_count, name="view_count")
register.simple_tag(page_parts.current_phase, name="current_phase")
register.simple_tag(page_parts.rag_status, name="rag_status")
