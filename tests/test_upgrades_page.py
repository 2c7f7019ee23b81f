"""The upgrade review, on the migration's pages and in the admin: what changed in each version the
upgrade brings in, not only in the latest."""

import copy

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from migrations_app.checklist_templates import guide_file, publishing
from migrations_app.models import TemplateVersion
from tests.pages import text

pytestmark = pytest.mark.django_db


def publish_edition(version: TemplateVersion, title: str, note: str) -> TemplateVersion:
    """The next version of `version`'s template: its first item renamed to `title`."""
    data = copy.deepcopy(guide_file.export(version))
    data["phases"][0]["items"][0]["title"] = title
    edition = guide_file.create_draft(data)
    publishing.publish(edition, note)
    return edition


def notes_of(*versions: TemplateVersion) -> str:
    """Each version's number and change note, as a person reads them in order."""
    return " ".join(f"Version {version.number} {version.change_note}" for version in versions)


@pytest.fixture
def versions_2_and_3(guide_version) -> list[TemplateVersion]:
    version_2 = publish_edition(guide_version, "Agree the dates with the practice", "Dates agreed with the practice.")
    version_3 = publish_edition(version_2, "Agree the dates with everyone", "Dates agreed with everyone.")
    return [version_2, version_3]


def test_the_review_shows_the_change_note_of_every_version_the_upgrade_brings_in_oldest_first(
    client, migration, versions_2_and_3, delivery_partner_user
):
    version_2, version_3 = versions_2_and_3
    client.force_login(delivery_partner_user)

    page = text(client.get(reverse("migrations:upgrade_review", args=[migration.pk])).content.decode())

    assert notes_of(version_2, version_3) in page
    assert migration.template_version.change_note not in page  # of the version it is on already


def test_the_admin_review_shows_the_change_note_of_every_version_the_upgrade_brings_in(
    client, migration, versions_2_and_3, admin_user
):
    version_2, version_3 = versions_2_and_3
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_practicemigration_changelist"),
        {"action": "review_checklist_upgrade", helpers.ACTION_CHECKBOX_NAME: [migration.pk]},
    )

    page = text(response.content.decode())
    assert notes_of(version_2, version_3) in page
