"""Template editors edit drafts in the Django admin, publish them, export and import them; they
never change a published version, never overwrite each other, and every change is logged."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape

from migrations_app.checklist_templates import guide_file
from migrations_app.models import ItemTemplate, PhaseTemplate, TemplateVersion
from tests.conftest import with_two_factor_device
from tests.factories import UserFactory
from tests.pages import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(template_editor) -> Client:
    client = Client()
    client.force_login(template_editor)
    return client


@pytest.fixture
def draft(guide_version) -> TemplateVersion:
    return guide_version.copy_as_draft()


def change_url(obj) -> str:
    return reverse(f"admin:migrations_app_{obj._meta.model_name}_change", args=[obj.pk])


def version_url(version: TemplateVersion, action: str) -> str:
    return reverse(f"admin:migrations_app_templateversion_{action}", args=[version.pk])


def form_data(response) -> dict:
    """The admin change form as the browser would post it back unchanged: the main form, and each
    inline formset with its management form."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def item_prefix(response, key: str) -> str:
    [formset] = [inline.formset for inline in response.context["inline_admin_formsets"]]
    [index] = [index for index, form in enumerate(formset.forms) if form.instance.key == key]
    return f"items-{index}-"


# --- who may use the template admin ------------------------------------------------------------------


def test_the_template_editors_group_has_exactly_the_permissions_editing_needs():
    codenames = set(Group.objects.get(name="Template editors").permissions.values_list("codename", flat=True))

    assert codenames == {
        "view_checklisttemplate",
        *(f"{action}_templateversion" for action in ("view", "add", "change", "delete")),
        *(f"{action}_phasetemplate" for action in ("view", "add", "change", "delete")),
        *(f"{action}_itemtemplate" for action in ("view", "add", "change", "delete")),
    }


def admin_pages(draft: TemplateVersion) -> list[str]:
    published = TemplateVersion.objects.published().get()
    phase = draft.phases.order_by("position").first()
    item = phase.items.order_by("position").first()
    return [
        reverse("admin:migrations_app_checklisttemplate_changelist"),
        change_url(draft.template),
        reverse("admin:migrations_app_templateversion_changelist"),
        reverse("admin:migrations_app_templateversion_changelist") + "?status__exact=published&q=guide",
        change_url(published),
        change_url(draft),
        reverse("admin:migrations_app_templateversion_history", args=[draft.pk]),
        change_url(phase),
        change_url(phase.items.first()),
        reverse("admin:migrations_app_itemtemplate_changelist")
        + "?responsible_role__exact=icb_lead&kind__exact=gate&anchor__exact=go_live&q=sign",
        reverse("admin:migrations_app_phasetemplate_changelist") + "?version__status__exact=draft",
        version_url(draft, "publish"),
        version_url(published, "new_draft"),
        version_url(published, "export"),
        reverse("admin:migrations_app_templateversion_import"),
        change_url(item),
    ]


def test_a_template_editor_can_open_every_template_admin_page(editor_client, draft):
    for url in admin_pages(draft):
        response = editor_client.get(url)

        assert response.status_code == 200, url
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_the_admin_is_themed_with_the_product_name_and_stylesheet(editor_client, draft):
    response = editor_client.get(reverse("admin:index"))

    assert "GP migration tracker administration" in response.content.decode()
    assert "/static/admin-theme/admin.css" in response.content.decode()


@pytest.mark.parametrize("persona", ["practice_manager", "practice_staff", "clinical_lead", "icb_user", "outsider"])
def test_practice_and_other_users_are_sent_to_sign_in(client, request, draft, persona):
    client.force_login(request.getfixturevalue(persona))

    for url in admin_pages(draft):
        response = client.get(url)

        assert response.status_code == 302, url
        assert response.url.startswith("/admin/login/"), url


def test_staff_without_the_group_are_refused(client, draft):
    client.force_login(with_two_factor_device(UserFactory(is_staff=True)))

    for url in admin_pages(draft):
        assert client.get(url).status_code == 403, url


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, draft, template_editor):
    template_editor.totpdevice_set.all().delete()
    client.force_login(template_editor)

    response = client.get(change_url(draft))

    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))


# --- published versions are read-only ------------------------------------------------------------------


def test_every_input_of_a_drafts_phase_rows_is_named_for_screen_readers(editor_client, draft):
    page = editor_client.get(change_url(draft)).content.decode()

    phase = draft.phases.order_by("position").first()
    names = re.findall(r'aria-label="([^"]*) of: ' + re.escape(phase.title) + '"', page)
    assert "Position" in names
    assert all(name.strip() for name in names), names


def test_the_versions_list_names_each_version_once_with_its_publication_day(editor_client, guide_version, draft):
    page = editor_client.get(reverse("admin:migrations_app_templateversion_changelist")).content.decode()

    body = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', page, re.DOTALL).group(1)
    rows = [text(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]
    published_on = date_format(timezone.localtime(guide_version.published_at), "j M Y")
    assert any(row.startswith(f"Version {guide_version.number} ") and published_on in row for row in rows), rows
    assert any(row.startswith("Draft ") for row in rows), rows
    # The template's name once a row: in its own column, not again in the version's link.
    assert all(row.count(guide_version.template.name) == 1 for row in rows), rows


def test_a_published_version_page_is_read_only(editor_client, guide_version):
    page = editor_client.get(change_url(guide_version)).content.decode()
    phase_page = editor_client.get(change_url(guide_version.phases.first())).content.decode()

    assert 'name="_save"' not in page and 'name="_save"' not in phase_page
    assert "Make a new draft from this version" in page
    assert version_url(guide_version, "publish") not in page


def test_a_post_to_a_published_phase_is_refused_and_changes_nothing(editor_client, guide_version, draft):
    phase = guide_version.phases.get(key="early-phases")
    data = form_data(editor_client.get(change_url(draft.phases.get(key="early-phases"))))
    data["title"] = "Rewritten"

    response = editor_client.post(change_url(phase), data)

    assert response.status_code == 403
    assert PhaseTemplate.objects.get(pk=phase.pk).title == "Early phases: decision to migrate to pre-migration tasks"


def test_a_published_version_has_no_publish_page(editor_client, guide_version):
    response = editor_client.post(version_url(guide_version, "publish"), {"change_note": "Again", "seen_revision": 1})

    assert response.status_code == 302
    assert TemplateVersion.objects.get(pk=guide_version.pk).change_note == guide_version.change_note


# --- the editing flow -------------------------------------------------------------------------------------


def test_an_editor_makes_a_draft_edits_items_and_publishes_it(editor_client, template_editor, guide_version):
    response = editor_client.post(version_url(guide_version, "new_draft"))
    draft = TemplateVersion.objects.get(status="draft")
    assert response.url == change_url(draft)
    phase = draft.phases.get(key="early-phases")

    page = editor_client.get(change_url(phase))
    data = form_data(page)
    retitled, moved, removed = (
        item_prefix(page, "agree-provisional-go-live-date"),
        item_prefix(page, "target-supplier-confirmed-go-live"),
        item_prefix(page, "what-is-a-technical-survey"),
    )
    data[retitled + "title"] = "Agree a provisional go-live date"
    data[retitled + "offset_days"] = "-14"
    data[moved + "position"] = "1"
    data[removed + "DELETE"] = "on"
    new = f"items-{data['items-TOTAL_FORMS']}-"
    data["items-TOTAL_FORMS"] = str(int(data["items-TOTAL_FORMS"]) + 1)
    data |= {
        new + "key": "book-training-room",
        new + "title": "Book a training room",
        new + "responsible_role": "practice_manager",
        new + "anchor": "go_live",
        new + "offset_days": "-28",
        new + "kind": "task",
        new + "phase": str(phase.pk),
    }
    response = editor_client.post(change_url(phase), data)

    assert response.status_code == 302
    keys = list(phase.items.order_by("position").values_list("key", "position"))
    assert keys[0] == ("target-supplier-confirmed-go-live", 1)
    assert keys[-1] == ("book-training-room", len(keys))
    assert [position for _, position in keys] == list(range(1, len(keys) + 1))
    assert not phase.items.filter(key="what-is-a-technical-survey").exists()
    retitled_item = phase.items.get(key="agree-provisional-go-live-date")
    assert (retitled_item.title, retitled_item.offset_days) == ("Agree a provisional go-live date", -14)
    history = LogEntry.objects.filter(object_id=str(draft.pk), content_type__model="templateversion")
    message = history.order_by("-action_time").first().get_change_message()
    assert "Changed Title and Offset days for item template “Agree a provisional go-live date”." in message
    assert "Deleted item template “What is a Technical survey?”." in message
    assert "Added item template “Book a training room”." in message

    publish_page = editor_client.get(version_url(draft, "publish")).content.decode()
    assert "Removed &#x27;What is a Technical survey?&#x27;" in publish_page
    response = editor_client.post(
        version_url(draft, "publish"),
        {"change_note": "Provisional go-live a fortnight ahead.", "seen_revision": revision_of(draft)},
    )

    published = TemplateVersion.objects.get(pk=draft.pk)
    assert response.status_code == 302
    assert (published.status, published.number, published.change_note) == (
        "published",
        2,
        "Provisional go-live a fortnight ahead.",
    )
    entry = LogEntry.objects.filter(object_id=str(draft.pk), content_type__model="templateversion").latest("pk")
    assert (entry.user, entry.change_message) == (template_editor, "Published as version 2: " + published.change_note)
    assert guide_version.items().get(key="agree-provisional-go-live-date").offset_days == -7


def revision_of(version: TemplateVersion) -> int:
    return TemplateVersion.objects.get(pk=version.pk).revision


def test_phases_are_reordered_by_position_number(editor_client, draft):
    page = editor_client.get(change_url(draft))
    data = form_data(page)
    [formset] = [inline.formset for inline in page.context["inline_admin_formsets"]]
    last = len(formset.forms) - 1
    data["phases-0-position"], data[f"phases-{last}-position"] = str(last + 1), "1"

    response = editor_client.post(change_url(draft), data)

    assert response.status_code == 302
    assert list(draft.phases.order_by("position").values_list("key", flat=True)) == [
        "post-go-live",
        "initial-data-production",
        "planning-for-cutover",
        "cutover-and-go-live",
        "early-phases",
    ]


@pytest.mark.parametrize(
    ("note", "message"),
    [("", "Enter what changed and why"), ("x" * 5001, "The change note must be 5,000 characters or fewer")],
)
def test_publishing_needs_a_change_note_of_a_few_paragraphs_at_most(editor_client, draft, note, message):
    response = editor_client.post(version_url(draft, "publish"), {"change_note": note, "seen_revision": draft.revision})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert TemplateVersion.objects.get(pk=draft.pk).status == "draft"


def test_an_item_key_used_in_another_phase_is_refused(editor_client, draft):
    phase = draft.phases.get(key="post-go-live")
    page = editor_client.get(change_url(phase))
    data = form_data(page)
    data["items-0-key"] = "agree-go-live-date"

    response = editor_client.post(change_url(phase), data)

    assert response.status_code == 200
    assert "Another phase of this version has an item with the key" in response.content.decode()


def test_a_second_draft_is_refused_while_one_exists(editor_client, guide_version, draft):
    response = editor_client.post(version_url(guide_version, "new_draft"))

    assert response.url == change_url(draft)
    assert TemplateVersion.objects.filter(status="draft").count() == 1


# --- two editors at once ------------------------------------------------------------------------------------


def test_the_second_of_two_editors_saving_the_same_draft_is_told_and_overwrites_nothing(template_editor, draft):
    other_editor = with_two_factor_device(UserFactory(is_staff=True))
    other_editor.groups.add(Group.objects.get(name="Template editors"))
    first, second = Client(), Client()
    first.force_login(template_editor)
    second.force_login(other_editor)
    phase = draft.phases.get(key="early-phases")
    first_page, second_page = first.get(change_url(phase)), second.get(change_url(phase))
    first_data, second_data = form_data(first_page), form_data(second_page)
    prefix = item_prefix(first_page, "agree-provisional-go-live-date")
    first_data[prefix + "title"] = "First editor's title"
    second_data[prefix + "title"] = "Second editor's title"
    second_data[prefix + "offset_days"] = "-21"

    assert first.post(change_url(phase), first_data).status_code == 302
    response = second.post(change_url(phase), second_data)

    assert response.status_code == 200
    assert "saved again since you opened this page (by someone else, or by you in another" in response.content.decode()
    item = phase.items.get(key="agree-provisional-go-live-date")
    assert (item.title, item.offset_days) == ("First editor's title", -7)
    assert revision_of(draft) == 2


def test_publishing_a_draft_changed_since_the_publish_page_opened_is_refused(editor_client, draft):
    seen = draft.revision
    TemplateVersion.objects.get(pk=draft.pk).record_edit(seen)

    response = editor_client.post(version_url(draft, "publish"), {"change_note": "Done.", "seen_revision": seen})

    assert "saved again since you opened this page (by someone else, or by you in another" in response.content.decode()
    assert TemplateVersion.objects.get(pk=draft.pk).status == "draft"


# --- export and import ----------------------------------------------------------------------------------------


def test_export_downloads_the_version_in_the_guide_format(editor_client, guide_version):
    response = editor_client.get(version_url(guide_version, "export"))

    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="practice-migration-v1.yaml"'
    assert response.content.decode() == guide_file.export_text(guide_version)


def test_an_exported_file_imports_as_an_identical_draft(editor_client, template_editor, guide_version):
    exported = editor_client.get(version_url(guide_version, "export")).content

    response = editor_client.post(
        reverse("admin:migrations_app_templateversion_import"),
        {"data_file": SimpleUploadedFile("practice-migration-v1.yaml", exported)},
    )

    draft = TemplateVersion.objects.get(status="draft")
    assert response.url == change_url(draft)
    assert guide_file.export_text(draft).encode() == exported
    entry = LogEntry.objects.get(object_id=str(draft.pk), content_type__model="templateversion")
    assert (entry.user, entry.change_message) == (template_editor, "Imported from practice-migration-v1.yaml.")


def test_a_file_with_problems_is_refused_listing_them_and_nothing_is_saved(editor_client, guide_version):
    text = guide_file.export_text(guide_version).replace("role: icb_lead", "role: receptionist", 1)

    response = editor_client.post(
        reverse("admin:migrations_app_templateversion_import"),
        {"data_file": SimpleUploadedFile("spoilt.yaml", text.encode())},
    )

    assert response.status_code == 200
    assert "The file was not imported" in response.content.decode()
    assert "&#x27;role&#x27; must be one of" in response.content.decode()
    assert TemplateVersion.objects.count() == 1
    assert ItemTemplate.objects.count() == guide_version.items().count()


def test_deleting_a_draft_item_is_logged_on_its_version(editor_client, template_editor, draft):
    item = draft.items().get(key="what-is-a-technical-survey")  # no gate waits for it

    response = editor_client.post(reverse("admin:migrations_app_itemtemplate_delete", args=[item.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not ItemTemplate.objects.filter(pk=item.pk).exists()
    entry = LogEntry.objects.filter(object_id=str(draft.pk), content_type__model="templateversion").latest("pk")
    assert entry.user == template_editor
    assert entry.get_change_message() == f"Deleted item template “{item.title}”."


def test_a_published_item_cannot_be_deleted_in_the_admin(editor_client, guide_version):
    item = guide_version.items().first()

    response = editor_client.post(reverse("admin:migrations_app_itemtemplate_delete", args=[item.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert ItemTemplate.objects.filter(pk=item.pk).exists()


def test_what_a_gate_waits_for_is_edited_as_keys_one_a_line_or_separated_by_commas(editor_client, draft):
    gate = ItemTemplate.objects.filter(phase__version=draft, depends_on__isnull=False).first()
    page = editor_client.get(change_url(gate.phase))
    prefix = item_prefix(page, gate.key)
    shown = re.search(rf'name="{prefix}depends_on"[^>]*>\s*([^<]*)</textarea>', page.content.decode()).group(1)
    assert shown.strip() == "\n".join(gate.depends_on)  # one key a line, not the JSON of a list
    others = list(ItemTemplate.objects.filter(phase__version=draft).exclude(pk=gate.pk).values_list("key", flat=True))

    data = form_data(page) | {f"{prefix}depends_on": f" {others[0]},{others[1]}\n {others[2]} "}
    editor_client.post(change_url(gate.phase), data)
    typed = ItemTemplate.objects.get(pk=gate.pk).depends_on
    data = form_data(editor_client.get(change_url(gate.phase))) | {f"{prefix}depends_on": "  "}
    editor_client.post(change_url(gate.phase), data)

    assert typed == others[:3]
    assert ItemTemplate.objects.get(pk=gate.pk).depends_on is None  # empty: every earlier item of its phase


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        ("99999", "Enter an offset between -365 and 365 days"),
        ("-366", "Enter an offset between -365 and 365 days"),
        ("99999999999999999999", "Enter an offset between -365 and 365 days"),
        ("soon", "Enter the offset as a whole number of days"),
    ],
)
def test_an_offset_beyond_a_year_is_refused_as_it_is_typed(editor_client, draft, offset, message):
    # Not saved as "changed successfully" to be caught only on publishing.
    item = ItemTemplate.objects.filter(phase__version=draft).first()
    page = editor_client.get(change_url(item.phase))
    prefix = item_prefix(page, item.key)

    response = editor_client.post(change_url(item.phase), form_data(page) | {f"{prefix}offset_days": offset})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert ItemTemplate.objects.get(pk=item.pk).offset_days == item.offset_days


def test_waits_for_a_key_that_names_no_item_is_refused_as_it_is_typed(editor_client, draft):
    gate = ItemTemplate.objects.filter(phase__version=draft, depends_on__isnull=False).first()
    page = editor_client.get(change_url(gate.phase))
    prefix = item_prefix(page, gate.key)
    elsewhere = ItemTemplate.objects.filter(phase__version=draft).exclude(phase=gate.phase).first().key

    refused = editor_client.post(
        change_url(gate.phase), form_data(page) | {f"{prefix}depends_on": f"{elsewhere}\nno-such-key"}
    )
    kept = editor_client.post(change_url(gate.phase), form_data(page) | {f"{prefix}depends_on": elsewhere})
    alone = editor_client.post(
        change_url(gate), form_data(editor_client.get(change_url(gate))) | {"depends_on": "no-such-key"}
    )

    assert refused.status_code == 200
    assert "No item of this version has the key &#x27;no-such-key&#x27;" in refused.content.decode()
    assert kept.status_code == 302  # a key of another phase of the version is fine
    assert ItemTemplate.objects.get(pk=gate.pk).depends_on == [elsewhere]
    assert alone.status_code == 200
    assert "No item of this version has the key &#x27;no-such-key&#x27;" in alone.content.decode()


def test_publishing_problems_name_the_columns_the_editor_sees(editor_client, draft):
    # A gate left waiting for an item deleted since: refused, in the item table's words.
    gate = ItemTemplate.objects.filter(phase__version=draft, depends_on__isnull=False).first()
    waited_for = ItemTemplate.objects.get(phase__version=draft, key=gate.depends_on[0])
    waited_for.delete()

    page = editor_client.get(version_url(draft, "publish")).content.decode()
    refused = editor_client.post(
        version_url(draft, "publish"), {"change_note": "Tidied", "seen_revision": draft.revision}
    ).content.decode()

    for html in (page, refused):
        assert f"&quot;Waits for&quot; names no item with key {waited_for.key}" in html
        assert "depends_on" not in html
        assert 'value="Publish version' not in html  # not offered until it is put right
    assert TemplateVersion.objects.get(pk=draft.pk).status == "draft"


def test_a_task_that_waits_for_items_is_refused_as_it_is_typed(editor_client, draft):
    # Only a gate waits: a task given "Waits for" would be refused on publishing, so it is refused here.
    task = ItemTemplate.objects.filter(phase__version=draft, kind="task").first()
    other = ItemTemplate.objects.filter(phase__version=draft).exclude(pk=task.pk).first().key
    page = editor_client.get(change_url(task.phase))
    prefix = item_prefix(page, task.key)

    response = editor_client.post(change_url(task.phase), form_data(page) | {f"{prefix}depends_on": other})
    alone = editor_client.post(change_url(task), form_data(editor_client.get(change_url(task))) | {"depends_on": other})

    for refused in (response, alone):
        assert refused.status_code == 200
        assert "Only a sign-off gate waits for items" in refused.content.decode()
    assert ItemTemplate.objects.get(pk=task.pk).depends_on is None
    publish = editor_client.get(version_url(draft, "publish")).content.decode()
    assert 'value="Publish version' in publish  # nothing wrong with the draft: offered


def test_the_admin_offers_view_site_only_to_someone_with_a_site_to_view(editor_client, client, draft, support_admin):
    client.force_login(support_admin)

    as_editor = editor_client.get(reverse("admin:index")).content.decode()
    as_support = client.get(reverse("admin:index")).content.decode()

    # The editor reads no migration: the site's home page would send them back to the admin.
    assert "View site" not in as_editor
    assert "View site" in as_support


@pytest.mark.parametrize(
    ("link", "refused"),
    [
        ("http://www.england.nhs.uk/guide/", True),
        ("not a link", True),
        ("javascript:alert(1)", True),
        ("https://www.england.nhs.uk/guide/", False),
    ],
)
def test_an_items_guide_link_must_be_https_when_it_is_saved(editor_client, guide_version, link, refused):
    editor_client.post(version_url(guide_version, "new_draft"))
    phase = TemplateVersion.objects.get(status="draft").phases.get(key="early-phases")
    page = editor_client.get(change_url(phase))
    data = form_data(page)
    prefix = item_prefix(page, "agree-provisional-go-live-date")
    data[prefix + "guide_url"] = link

    response = editor_client.post(change_url(phase), data)

    saved = phase.items.get(key="agree-provisional-go-live-date").guide_url
    if refused:
        assert response.status_code == 200
        assert response.content.decode().count("Enter the guide link as an https address") == 1
        assert saved != link
    else:
        assert response.status_code == 302
        assert saved == link


def test_a_phase_is_not_deleted_from_its_versions_page(editor_client, guide_version):
    editor_client.post(version_url(guide_version, "new_draft"))
    draft = TemplateVersion.objects.get(status="draft")

    page = editor_client.get(change_url(draft)).content.decode()

    assert "phases-0-DELETE" not in page
    assert "To delete a phase, open it and choose Delete" in page


def test_deleting_an_item_a_gate_of_its_phase_waits_for_says_so_at_the_gate(editor_client, guide_version):
    editor_client.post(version_url(guide_version, "new_draft"))
    phase = TemplateVersion.objects.get(status="draft").phases.get(key="early-phases")
    waited = phase.items.get(key="business-justification-completed")
    page = editor_client.get(change_url(phase))
    data = form_data(page)
    data[item_prefix(page, "business-justification-completed") + "DELETE"] = "on"

    response = editor_client.post(change_url(phase), data)

    assert response.status_code == 200
    assert (
        f"This gate waits for {escape(waited.title)} (business-justification-completed), which you are deleting: "
        "take it out of Waits for first."
    ) in response.content.decode()
    assert phase.items.filter(key="business-justification-completed").exists()


def test_an_item_a_gate_of_another_phase_waits_for_is_not_deleted_from_its_phase_or_its_own_page(
    editor_client, guide_version
):
    editor_client.post(version_url(guide_version, "new_draft"))
    draft = TemplateVersion.objects.get(status="draft")
    waited = draft.items().get(key="third-parties-switched-back-on")
    gate = draft.items().get(key="migration-complete")
    # The gate of another phase waits for it too.
    other_gate = draft.items().get(key="go-live-sign-off")
    other_gate.depends_on = [*other_gate.depends_on, waited.key]
    other_gate.save()
    phase = waited.phase
    page = editor_client.get(change_url(phase))
    data = form_data(page)
    data[item_prefix(page, waited.key) + "DELETE"] = "on"

    from_phase = editor_client.post(change_url(phase), data)
    own_page = reverse("admin:migrations_app_itemtemplate_delete", args=[waited.pk])
    asked = editor_client.get(own_page, follow=True)
    posted = editor_client.post(own_page, {"post": "yes"})

    assert from_phase.status_code == 200
    message = f"{escape(other_gate.title)} waits for {escape(waited.title)}: take it out of that gate’s Waits for first"
    assert message in from_phase.content.decode()
    # Its own page counts every gate that waits for it, those of its own phase too.
    both = sorted([escape(gate.title), escape(other_gate.title)], key=asked.content.decode().index)
    assert f"{'; '.join(both)} wait for {escape(waited.title)}: take it out of those" in asked.content.decode()
    assert posted.status_code == 302
    assert draft.items().filter(key=waited.key).exists()


def test_saving_a_phase_whose_gate_falls_due_before_an_item_it_waits_for_saves_it_and_says_so(editor_client, draft):
    gate, waited = next(
        (gate, waited)
        for gate in ItemTemplate.objects.filter(phase__version=draft, kind="gate", depends_on__isnull=False)
        for waited in ItemTemplate.objects.filter(phase=gate.phase, key__in=gate.depends_on, anchor=gate.anchor)
    )
    page = editor_client.get(change_url(gate.phase))
    data = form_data(page)
    data[item_prefix(page, waited.key) + "offset_days"] = gate.offset_days + 5

    saved = editor_client.post(change_url(gate.phase), data, follow=True).content.decode()

    waited.refresh_from_db()
    assert waited.offset_days == gate.offset_days + 5  # saved: the draft is the editor's to put right
    assert "Saved, but the draft cannot be published until this is put right:" in text(saved)
    assert f"before '{waited.title}'" in text(saved)
