"""{{ field|select_options }} (templatetags/fields.py) writes a select's options as the loop over its
subwidgets in includes/_field.html wrote them: values, labels and which are selected, for plain,
grouped, multiple and model choices, bound and unbound, with values that must be escaped."""

import re

import pytest
from django import forms
from django.template import engines
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from migrations_app.models import Supplier

# The loop includes/_field.html had before the filter.
TEMPLATE_LOOP = """
    {% for option in field.subwidgets %}
    <option value="{{ option.data.value|stringformat:'s' }}"{% if option.data.selected %} selected{% endif %}>{{ option.data.label }}</option>
    {% endfor %}
"""  # noqa: E501
FILTER = "{% load fields %}{{ field|select_options }}"

CHOICES = [
    ("", "All"),
    ("a&b", "A & B <first>"),
    (2, gettext_lazy("Two")),
    (None, "None given"),
    ("dup", "First of two"),
    ("dup", "Second of two"),
    ("safe", mark_safe("<em>kept</em>")),
]
GROUPED = [("", "Any"), ("Group <one>", [("g1", "One"), ("g2", "Two")]), ("Other", [(3, "Three"), (None, "Nothing")])]


class Choices(forms.Form):
    plain = forms.ChoiceField(choices=CHOICES, required=False)
    grouped = forms.ChoiceField(choices=GROUPED, required=False)
    many = forms.MultipleChoiceField(choices=CHOICES, required=False, widget=forms.SelectMultiple)
    typed = forms.TypedChoiceField(choices=[(1, "One"), (2, "Two")], coerce=int, required=False)


def squeezed(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


def both(field: forms.BoundField) -> tuple[str, str]:
    engine = engines["django"]
    context = {"field": field}
    return (
        squeezed(engine.from_string(FILTER).render(context)),
        squeezed(engine.from_string(TEMPLATE_LOOP).render(context)),
    )


BOUND = [
    None,  # unbound
    {},
    {"plain": "a&b", "grouped": "g2", "many": ["dup", "2", "safe"], "typed": "2"},
    {"plain": "dup", "grouped": "3", "many": ["a&b"], "typed": "1"},
    {"plain": "2", "grouped": "", "many": [], "typed": ""},
    {"plain": "not a choice", "grouped": "nothing", "many": ["x", "dup"], "typed": "9"},
    {"plain": "None", "grouped": "None", "many": ["None"], "typed": "x"},
]


@pytest.mark.parametrize("data", BOUND, ids=range(len(BOUND)))
@pytest.mark.parametrize("name", ["plain", "grouped", "many", "typed"])
def test_the_options_are_what_the_subwidgets_wrote(data, name):
    form = Choices(data) if data is not None else Choices(initial={"plain": "dup", "many": ["2"]})
    form.is_valid()

    written, expected = both(form[name])

    assert written == expected
    assert written.count("<option") == expected.count("<option") > 0


@pytest.mark.django_db
def test_model_choices_are_what_the_subwidgets_wrote():
    first = Supplier.objects.create(name="Optum & <Co>", system_name="EMIS Web")
    Supplier.objects.create(name="TPP", system_name="SystmOne")

    class Pick(forms.Form):
        supplier = forms.ModelChoiceField(Supplier.objects.order_by("pk"), required=False)

    for form in (Pick(), Pick({"supplier": str(first.pk)})):
        written, expected = both(form["supplier"])
        assert written == expected
        assert "&lt;Co&gt;" in written or "EMIS" in written


def test_only_the_first_of_equal_values_is_selected_unless_multiple():
    form = Choices({"plain": "dup", "many": ["dup"]})

    plain, _ = both(form["plain"])
    many, _ = both(form["many"])

    assert plain.count(" selected") == 1 and '<option value="dup" selected>First of two</option>' in plain
    assert many.count(" selected") == 2
    assert "A &amp; B &lt;first&gt;" in plain and 'value="a&amp;b"' in plain and "<em>kept</em>" in plain
