"""{{ field|select_options }}: the <option>s of a select field (includes/_field.html), as the
template wrote them from the field's subwidgets, made in Python: building a subwidget for every
option (each a copy of the widget's attributes) and rendering it through the template was most of
the dashboard's filter form (80 options for a national viewer). tests/test_select_options.py holds the two
to the same markup."""

from django import forms, template
from django.utils.safestring import SafeString

from migrations_app.markup import html_join

register = template.Library()


@register.filter
def select_options(field: forms.BoundField) -> SafeString:
    """Each choice as an <option>, groups' choices flattened as the subwidgets flatten them;
    selected as Django's Select selects: the choices whose value is among the field's values, and
    only the first of them unless the select is multiple."""
    widget = field.field.widget
    values = set(widget.format_value(field.value()))
    multiple, chosen = widget.allow_multiple_selected, False
    options = []
    for value, label in widget.choices:
        group = label if isinstance(label, (list, tuple)) else [("" if value is None else value, label)]
        for option_value, option_label in group:
            selected = (multiple or not chosen) and str(option_value) in values
            chosen |= selected
            options.append((option_value, " selected" if selected else "", option_label))
    return html_join("\n    ", '<option value="{}"{}>{}</option>', options)


@register.filter
def thousands(value: int) -> str:
    """A whole number with thousands separators, as the service writes limits: 5000 as "5,000"."""
    return f"{value:,}"
