"""A checklist item's row on the migration page, made in Python (item_rows.py through the item_row
tag), against templates/migrations_app/_item.html, which the answer to an item's action still
uses: the same markup for every kind of row, over the real guide's checklist as each role sees it,
and over the states an item can be in (statuses, gates ready or not, owners, notes, reasons, due
dates moved or set by hand, no due date, due states, values that must be escaped)."""

import itertools
import re
from datetime import UTC, date, datetime

import pytest
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse

from migrations_app import access, checklist, item_rows
from migrations_app.models import ItemStatus
from tests.conftest import TODAY
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def squeezed(html: str) -> str:
    """Markup compared as a browser reads it: runs of white space as one, none before a tag closes,
    and any CSRF token (masked afresh each time it is written) as one."""
    html = CSRF_VALUE.sub('name="csrfmiddlewaretoken" value="TOKEN"', html)
    return re.sub(r"\s+>", ">", re.sub(r"\s+", " ", html)).strip()


def both(item, user, focus: bool = False) -> tuple[str, str]:
    """`item`'s row made by the tag, and by the template, each in a page's context for `user`; with
    `focus`, as the answer to a tick asks for them."""
    request = RequestFactory().get("/")
    request.user = user
    engine = engines["django"]
    context = {"item": item, "migration": item.migration, "focus": focus}
    made = engine.from_string("{% load checklist_rows %}{% item_row item focus=focus %}").render(context, request)
    written = engine.from_string('{% include "migrations_app/_item.html" %}').render(context, request)
    return squeezed(made), squeezed(written)


def items_as_seen_by(user, migration) -> list:
    _, user_access = access.get_migration(user, migration.pk)
    built = checklist.build(migration, TODAY, user_access, view="all")
    return [item for phase in built.phases for group in phase.groups for item in group.items]


@pytest.mark.parametrize("persona", ["practice_manager", "practice_staff", "icb_user", "delivery_partner_user"])
def test_every_row_of_the_guides_checklist_is_what_the_template_writes(persona, request, migration):
    user = request.getfixturevalue(persona)
    items = items_as_seen_by(user, migration)
    assert len(items) > 100

    for item in items:
        made, written = both(item, user)
        assert made == written, item.title


STATUSES = [ItemStatus.TO_DO, ItemStatus.DONE, ItemStatus.BLOCKED, ItemStatus.NOT_APPLICABLE]


@pytest.mark.parametrize(("status", "is_gate"), list(itertools.product(STATUSES, [False, True])))
def test_every_state_of_an_item_is_written_as_the_template_writes_it(status, is_gate, practice_manager, migration):
    items = items_as_seen_by(practice_manager, migration)
    item = next(each for each in items if each.is_gate == is_gate)
    finisher = UserFactory(full_name='Jo <Finisher> & "Co"')
    variants = [
        {},
        {"can_work_on": False},
        {"can_sign": False},
        {"can_sign": True, "is_ready_to_sign": True},
        {"is_ready_to_sign": False},
        {"is_ready_to_sign": False, "waiting_on": 1},
        {"is_ready_to_sign": False, "waiting_on": 3, "title": "A <gate> & more"},
        {"owner": finisher, "due_state": "overdue"},
        {"due_state": "due_soon", "note": "Line one\nLine <two> & three"},
        {"due_on": None, "reason": "Waiting for the <supplier> & co"},
        {"manual_due_on": TODAY, "due_on": TODAY, "guide_url": ""},
        {"due_on": date(2026, 12, 26)},  # a bank holiday: moved from it, unless set by hand
        {"title": 'Check the "data" <quality> & sign', "guide_url": "https://example.org/?a=1&b=<2>"},
        {"completed_by": finisher, "completed_at": datetime(2026, 3, 1, 23, 30, tzinfo=UTC)},
        {"completed_by": None, "completed_at": None, "override_reason": "Agreed at the <board> & minuted"},
        {"revision": 12345},
        {"note": "A <long> note & more.\n" * 40, "reason": "Waiting & waiting " * 40},
        {"note": "x" * 400, "reason": "y" * 301},  # no space to cut at
        {"reason": "Waiting for the <CSU>", "marked_at": datetime(2026, 3, 1, 23, 30, tzinfo=UTC)},
    ]
    for changes, focus in itertools.product(variants, [False, True]):
        variant = copy_of_item(item, status=status, **changes)
        made, written = both(variant, practice_manager, focus)
        assert made == written, (changes, focus)


def copy_of_item(item, **changes):
    """A copy of `item` (as built, with its marks) with `changes`, saved nowhere."""
    variant = type(item).from_db(
        "default",
        [field.attname for field in item._meta.concrete_fields],
        [getattr(item, field.attname) for field in item._meta.concrete_fields],
    )
    for name in ("migration", "urls", "can_sign", "can_work_on", "due_state", "is_yours"):
        setattr(variant, name, getattr(item, name))
    variant.owner, variant.completed_by = item.owner, item.completed_by
    variant.marked_by = UserFactory(full_name="Mo <Marker>") if "marked_at" in changes else None
    variant.is_ready_to_sign = getattr(item, "is_ready_to_sign", False)
    variant.waiting_on = getattr(item, "waiting_on", 0)
    if "status" in changes and changes["status"] == ItemStatus.DONE:
        variant.completed_by = variant.completed_by or UserFactory.build(full_name="Pat Done")
        variant.completed_at = variant.completed_at or datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    for name, value in changes.items():
        setattr(variant, name, value)
    return variant


def test_the_page_shows_the_rows_the_tag_makes(client, practice_manager, migration):
    client.force_login(practice_manager)

    page = client.get(f"/migrations/{migration.pk}/", {"show": "all"}).content.decode()

    items = items_as_seen_by(practice_manager, migration)
    assert page.count('class="nhsuk-task-list__item tracker-item"') == len(items)
    first = next(each for each in items if each.can_work_on and each.is_open and not each.is_gate)
    made, _ = both(first, practice_manager)
    assert squeezed(made) in squeezed(page)
    to_mark = [each for each in items if each.can_work_on and each.is_open and not each.is_gate]
    assert page.count(">Mark as done<") == len(to_mark) > 0


def test_a_long_note_or_reason_is_cut_at_a_word_with_a_link_to_read_it_whole(client, practice_manager, migration):
    task = migration.items.filter(kind="task").first()
    note = "Called the supplier about the extract and the dates. " * 20 + "THE END"
    task.set_note(practice_manager, note)
    task.mark_blocked(practice_manager, "Short reason")
    client.force_login(practice_manager)

    page = client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}), {"show": "all"})

    row = re.search(rf'<li[^>]*id="item-{task.pk}".*?</li>\n', page.content.decode(), re.DOTALL).group()
    shown = re.search(r"Note: (.*?)</p>", row, re.DOTALL).group(1)
    before_the_cut = shown.split("…")[0]
    assert "THE END" not in shown and note.startswith(before_the_cut) and len(before_the_cut) <= 300
    assert note[len(before_the_cut)] == " "  # cut at a word
    detail = reverse("migrations:item_detail", kwargs={"pk": migration.pk, "item_pk": task.pk})
    assert f'<a href="{detail}">Read the whole note<span class="nhsuk-u-visually-hidden">: {task.title}' in shown
    assert "Reason: Short reason</p>" in row  # a short one whole, with no link
    item_page = client.get(detail).content.decode()
    assert "THE END" in item_page


def test_a_cut_ends_in_one_ellipsis_not_after_a_full_stop():
    shown = item_rows.shortened("The supplier has left. " * 30, "/item/", "reason", "An item")

    assert shown.startswith("The supplier has left. ") and "left… <a" in shown and ".…" not in shown
