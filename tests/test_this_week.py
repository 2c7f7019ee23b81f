"""The migration page's "This week" panel, made in Python (this_week.py), against the template it
replaced: the same markup with nothing due, with a few and with more than five items overdue (the
phases' counts then), with items due in the next 7 days, owners named or a role, the viewer's own
marked, values that must be escaped, and out of band as the answer to a tick has it."""

import re
from datetime import timedelta

import pytest
from django.template import engines
from django.test import RequestFactory

from migrations_app import access, checklist, this_week
from migrations_app.models import ItemStatus, PracticeMigration
from tests.conftest import TODAY
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

# The panel as templates/migrations_app/_this_week.html wrote it before this_week.py.
TEMPLATE = """{% comment %}What is overdue and what falls due in the next 7 days, with who owns each (the viewer's own marked "yours": access.Relations); replaced out of band after each action. Overdue items: the most overdue first (at most checklist.MOST_OVERDUE), then how many each phase has, linking to the Overdue view.{% endcomment %}
{% url 'migrations:migration_detail' migration.pk as page_url %}
<section class="nhsuk-card tracker-this-week" id="this-week" aria-labelledby="this-week-heading"{% if oob %} hx-swap-oob="true"{% endif %}>
  <div class="nhsuk-card__content">
    <h2 class="nhsuk-card__heading" id="this-week-heading">This week</h2>
    {% if checklist.migration.status == "cancelled" %}
      <p class="nhsuk-card__description">Nothing is due: the migration is cancelled.</p>
    {% elif checklist.migration.is_paused %}
      <p class="nhsuk-card__description">Nothing is due while the migration is {{ checklist.migration.get_status_display|lower }}: due dates count again once it is resumed.</p>
    {% elif not checklist.overdue and not checklist.due_soon %}
      <p class="nhsuk-card__description">Nothing is overdue and nothing falls due in the next 7 days.</p>
    {% endif %}
    {% if checklist.overdue %}
      {% with count=checklist.overdue|length most=checklist.most_overdue %}
      <h3 class="nhsuk-heading-s nhsuk-u-margin-bottom-2" id="this-week-overdue">Overdue ({{ count }})</h3>
      <ul class="nhsuk-list">
        {% for item in most %}
        <li><a href="{{ page_url }}?show=overdue#item-{{ item.pk }}">{{ item.title }}</a>{% if item.status == "blocked" %} <strong class="nhsuk-tag nhsuk-tag--orange">Blocked</strong>{% endif %} <span class="nhsuk-u-secondary-text-colour">due {{ item.due_on|date:"j F" }}, {% if item.owner %}{{ item.owner }}{% else %}{{ item.get_responsible_role_display }}{% endif %}{% if item.is_yours %} (yours){% endif %}</span></li>
        {% endfor %}
      </ul>
      {% if count > most|length %}
      <p class="nhsuk-body-s nhsuk-u-margin-bottom-2" id="this-week-overdue-phases">The {{ most|length }} most overdue are above. Overdue by phase:</p>
      <ul class="nhsuk-list nhsuk-list--bullet" aria-labelledby="this-week-overdue-phases">
        {% for phase, phase_count in checklist.overdue_by_phase %}
        <li><a href="{{ page_url }}?show=overdue#phase-{{ phase.phase.pk }}-heading">{{ phase.phase.title }}</a>: {{ phase_count }} overdue</li>
        {% endfor %}
      </ul>
      <p><a href="{{ page_url }}?show=overdue#checklist">See all {{ count }} overdue items</a></p>
      {% endif %}
      {% endwith %}
    {% endif %}
    {% if checklist.due_soon %}
      <h3 class="nhsuk-heading-s nhsuk-u-margin-bottom-2">Due in the next 7 days ({{ checklist.due_soon|length }})</h3>
      <ul class="nhsuk-list">
        {% for item in checklist.soonest_due %}
        <li><a href="{{ page_url }}?show=next-30-days#item-{{ item.pk }}">{{ item.title }}</a>{% if item.status == "blocked" %} <strong class="nhsuk-tag nhsuk-tag--orange">Blocked</strong>{% endif %} <span class="nhsuk-u-secondary-text-colour">due {{ item.due_on|date:"l j F" }}, {% if item.owner %}{{ item.owner }}{% else %}{{ item.get_responsible_role_display }}{% endif %}{% if item.is_yours %} (yours){% endif %}</span></li>
        {% endfor %}
      </ul>
      {% if checklist.due_soon|length > checklist.soonest_due|length %}
      <p class="nhsuk-body-s">The {{ checklist.soonest_due|length }} due soonest are above. <a href="{{ page_url }}?show=next-30-days#checklist">See all {% for view in checklist.views %}{% if view.key == "next-30-days" %}{{ view.count }}{% endif %}{% endfor %} items due in the next 30 days</a></p>
      {% endif %}
    {% endif %}
  </div>
</section>
"""  # noqa: E501


def squeezed(html: str) -> str:
    """Markup compared as a browser reads it: runs of white space as one, and none between tags."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def both(built: checklist.Checklist, user, oob: bool) -> tuple[str, str]:
    request = RequestFactory().get("/")
    request.user = user
    context = {"checklist": built, "migration": built.migration, "oob": oob}
    written = engines["django"].from_string(TEMPLATE).render(context, request)
    return squeezed(this_week.section(built, oob)), squeezed(written)


@pytest.fixture
def built(practice_manager, migration) -> checklist.Checklist:
    _, user_access = access.get_migration(practice_manager, migration.pk)
    return checklist.build(migration, TODAY, user_access, view="all")


def test_the_panel_is_written_as_the_template_wrote_it(built, practice_manager):
    # Two items of each phase first, so that the overdue ones span phases.
    by_phase = [[item for group in phase.groups for item in group.items] for phase in built.phases]
    items = [item for each in by_phase for item in each[:2]] + [item for each in by_phase for item in each[2:]]
    owner = UserFactory(full_name='Sam <Owner> & "Co"')
    for index, item in enumerate(items[:12]):
        item.due_on = TODAY - timedelta(days=30 - index)
        item.owner = owner if index % 3 == 0 else None
        item.is_yours = index % 2 == 0
    for index, item in enumerate(items[12:30]):
        item.due_on = TODAY + timedelta(days=index % 7)
        item.owner = owner if index % 2 else None
        item.is_yours = index % 3 == 0
    items[0].title = 'Check the "data" <quality> & sign'
    # Blocked, one overdue and one due soon: said as the row's tag says it.
    items[1].status = items[13].status = ItemStatus.BLOCKED
    items[12].title = "Agree the <cutover> & tell staff"
    cases = {
        "nothing due": ([], []),
        "a few overdue": (items[:3], []),
        "five overdue": (items[:5], items[12:13]),
        "more than five overdue, in several phases": (items[:12], []),
        "due soon only": ([], items[12:20]),
        "both": (items[:9], items[12:20]),
        "ten due soon": ([], items[12:22]),
        "more than ten due soon": (items[:2], items[12:30]),
    }
    phases = {item.phase_id for item in items[:12]}
    assert len(phases) > 1, "the overdue items span phases"

    for name, (overdue, due_soon) in cases.items():
        built.overdue, built.due_soon = overdue, due_soon
        for oob in (False, True):
            made, written = both(built, practice_manager, oob)
            assert made == written, (name, oob)
            assert ('hx-swap-oob="true"' in made) == oob
    # The last case: the 10 due soonest of 18, and a link to the rest.
    assert made.count("?show=next-30-days#item-") == checklist.SOONEST_DUE == 10
    assert "The 10 due soonest are above." in made
    assert made.count(">Blocked</strong>") == 2
    # On hold: nothing is due, said as such (the page counts nothing as due while paused).
    built.overdue, built.due_soon = [], []
    built.migration.status = PracticeMigration.Status.ON_HOLD
    made, written = both(built, practice_manager, False)
    assert made == written
    assert "Nothing is due while the migration is on hold" in made
    # Cancelled: it cannot be resumed, so nothing says it will be.
    built.migration.status = PracticeMigration.Status.CANCELLED
    made, written = both(built, practice_manager, False)
    assert made == written
    assert "Nothing is due: the migration is cancelled." in made
    assert "resumed" not in made


def test_the_page_and_a_ticks_answer_show_the_panel(client, practice_manager, migration):
    client.force_login(practice_manager)

    page = client.get(f"/migrations/{migration.pk}/").content.decode()
    item = migration.items.filter(kind="task", status="to_do").order_by("due_on").first()
    answer = client.post(
        f"/migrations/{migration.pk}/items/{item.pk}/complete/", headers={"HX-Request": "true"}
    ).content.decode()

    assert page.count('id="this-week"') == 1 and 'id="this-week" aria-labelledby="this-week-heading">' in page
    assert answer.count('id="this-week"') == 1 and 'hx-swap-oob="true"' in answer.split('id="this-week"')[1][:80]
