"""Admin actions: each declares the permission it needs, and none runs for a view-only staff user."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from migrations_app.checklist_templates import guide_file, publishing
from migrations_app.models import Delivery, Event, PracticeMigration
from tests.conftest import with_two_factor_device
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def registered_actions() -> list[tuple[type, str, object]]:
    """(model, action name, function) of every action every registered ModelAdmin offers,
    Django's site-wide "delete selected" included."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for function, name, _ in model_admin._get_base_actions():
            found.append((model, name, function))
    return found


@pytest.fixture
def viewer_of_everything(db):
    """Staff with every view permission and nothing else."""
    user = with_two_factor_device(UserFactory(email="viewer@example.nhs.uk", is_staff=True))
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


def test_the_walk_finds_the_actions_this_app_defines():
    names = {name for _, name, _ in registered_actions()}

    assert {"review_checklist_upgrade", "send_again", "delete_selected"} <= names


def action_id(value) -> str:
    """A test id that is the same in every process (pytest-xdist compares them): names, not objects."""
    return getattr(value, "__qualname__", str(value))


@pytest.mark.parametrize(("model", "name", "function"), registered_actions(), ids=action_id)
def test_every_admin_action_declares_the_permission_it_needs(model, name, function):
    declared = getattr(function, "allowed_permissions", ())

    assert declared, f"{model.__name__} admin action {name!r} declares no permission"
    assert "view" not in declared


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model.__name__)
def test_a_view_only_staff_user_is_offered_no_action(model, viewer_of_everything):
    request = RequestFactory().get("/admin/")
    request.user = viewer_of_everything
    model_admin = admin.site._registry[model]

    assert model_admin.has_view_permission(request)
    assert model_admin.get_actions(request) == {}


@pytest.fixture
def newer(migration):
    """A later published version of the migration's checklist: one item renamed."""
    data = guide_file.export(migration.template_version)
    data["phases"][0]["items"][0]["title"] += " (revised)"
    version = guide_file.create_draft(data)
    publishing.publish(version, "Revised wording")
    return version


def test_a_view_only_staff_user_cannot_upgrade_a_checklist_through_the_admin(client, migration, newer, view_only_staff):
    client.force_login(view_only_staff)
    changelist = reverse("admin:migrations_app_practicemigration_changelist")

    for extra in ({}, {"apply": "yes", f"version-{migration.pk}": newer.pk}):
        response = client.post(
            changelist, {"action": "review_checklist_upgrade", "_selected_action": [migration.pk], **extra}
        )
        assert response.status_code in (200, 302)
        assert b"Review checklist upgrade" not in response.content

    migration.refresh_from_db()
    assert migration.template_version != newer
    assert not Event.objects.filter(kind=Event.Kind.UPGRADE).exists()


def test_a_support_admin_may_upgrade_a_checklist_through_the_admin(client, migration, newer, support_admin):
    # The permission the action declares is the one support admins hold: the refusal above is the check.
    client.force_login(support_admin)

    client.post(
        reverse("admin:migrations_app_practicemigration_changelist"),
        {
            "action": "review_checklist_upgrade",
            "apply": "yes",
            "_selected_action": [migration.pk],
            f"version-{migration.pk}": newer.pk,
        },
    )

    migration.refresh_from_db()
    assert migration.template_version == newer
    assert Event.objects.filter(kind=Event.Kind.UPGRADE, actor=support_admin).exists()


def test_send_again_is_neither_offered_to_nor_run_for_a_view_only_staff_user(client, practice_manager, view_only_staff):
    delivery = Delivery.objects.create(
        recipient=practice_manager,
        kind=Delivery.Kind.DIGEST,
        key="2025-06-03",
        on=timezone.localdate(),
        status=Delivery.Status.FAILED,
        attempts=6,
        last_error="554 Transaction failed",
    )
    changelist = reverse("admin:migrations_app_delivery_changelist")
    client.force_login(view_only_staff)

    page = client.get(changelist)
    client.post(changelist, {"action": "send_again", "_selected_action": [delivery.pk]})

    assert page.status_code == 200
    assert b"Send again" not in page.content
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 6)


def test_view_only_staff_read_every_migration_in_the_admin(client, migration, view_only_staff):
    client.force_login(view_only_staff)

    response = client.get(reverse("admin:migrations_app_practicemigration_changelist"))

    assert response.status_code == 200
    assert migration.practice.name in response.content.decode()
    assert PracticeMigration.objects.count() == 1
