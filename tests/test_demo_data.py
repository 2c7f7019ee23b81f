"""`manage.py seed_demo`: the data `make run` serves, safe to run again."""

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from migrations_app import access
from migrations_app.management.commands.seed_demo import DEMO_PASSWORD, PRACTICES
from migrations_app.models import (
    ICB,
    CheckIn,
    ChecklistItem,
    DeliveryPartner,
    Event,
    ItemKind,
    ItemStatus,
    Membership,
    PracticeMigration,
    Role,
    User,
    checkins,
)
from tests.factories import kept_and_counted_day_figures

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)


@pytest.fixture
def development(settings) -> None:
    """The test runner turns DEBUG off; demo data is for development, where it is on."""
    settings.DEBUG = True


@pytest.fixture
def seeded(guide_version, development, time_machine, capsys) -> str:
    time_machine.move_to(TODAY)
    call_command("seed_demo")
    return capsys.readouterr().out


def test_demo_has_one_delivery_partner_two_icbs_and_a_migration_per_practice(seeded):
    assert DeliveryPartner.objects.count() == 1
    assert ICB.objects.count() == 2
    assert PracticeMigration.objects.in_progress().count() == len(PRACTICES) >= 6


def test_demo_migrations_are_at_different_stages(seeded):
    by_name = {migration.practice.name: migration for migration in PracticeMigration.objects.select_related("practice")}
    just_ordered = by_name["Riverside Surgery"]
    live = by_name["Meadowbank Surgery"]
    slipping = by_name["Harbour Lane Family Practice"]

    assert just_ordered.idp_on is None and just_ordered.items.filter(due_on__isnull=True).exists()
    assert live.go_live_on < TODAY
    assert by_name["Castle Street Practice"].fdp_on < TODAY <= by_name["Castle Street Practice"].go_live_on
    assert slipping.items.overdue(TODAY).count() >= 20
    assert live.items.overdue(TODAY).count() == 0


def test_demo_prints_a_login_for_every_role_that_works(seeded, client):
    for role in Role:
        member = Membership.objects.filter(role=role).select_related("user").first()
        assert member is not None, role
        assert member.user.email in seeded
    assert DEMO_PASSWORD in seeded

    response = client.post(
        "/accounts/login/", {"username": "y90001.manager@demo.migration-tracker.localhost", "password": DEMO_PASSWORD}
    )

    assert response.status_code == 302


def test_demo_has_a_template_editor_for_the_template_admin(seeded):
    editor = User.objects.get(email="editor@demo.migration-tracker.localhost")

    assert editor.email in seeded
    assert editor.is_staff and not editor.is_superuser
    assert editor.has_perm("migrations_app.change_itemtemplate")
    assert not editor.has_perm("migrations_app.change_practicemigration")


def test_running_the_demo_again_changes_nothing(seeded, capsys):
    counts = (User.objects.count(), PracticeMigration.objects.count(), Membership.objects.count())

    call_command("seed_demo")

    assert "already loaded" in capsys.readouterr().out
    assert (User.objects.count(), PracticeMigration.objects.count(), Membership.objects.count()) == counts


def test_demo_data_is_refused_in_production(guide_version, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="development only"):
        call_command("seed_demo")

    assert not PracticeMigration.objects.exists()


def test_demo_needs_the_guide_loaded_first(development, no_published_guide):
    with pytest.raises(CommandError, match="load_guide"):
        call_command("seed_demo")


@pytest.mark.parametrize(
    ("local_part", "every_migration", "can_act"),
    [("national", True, False), ("support", True, True), ("editor", False, False), ("admin", True, True)],
)
def test_demo_has_one_login_of_each_staff_kind(seeded, local_part, every_migration, can_act):
    user = User.objects.get(email=f"{local_part}@demo.migration-tracker.localhost")
    migration = PracticeMigration.objects.first()

    assert user.email in seeded
    assert access.visible_migrations(user).count() == (PracticeMigration.objects.count() if every_migration else 0)
    assert access.access_to(user, migration).can_tick is can_act


def test_demo_has_check_ins_and_one_migration_whose_check_in_is_missed(seeded):
    missed = {
        migration.practice.ods_code
        for migration in PracticeMigration.objects.select_related("practice", "progress")
        if checkins.is_missed(
            status=migration.status,
            last_on=migration.progress.last_check_in_on,
            from_on=migration.progress.check_ins_from_on,
            today=TODAY,
        )
    }
    assert CheckIn.objects.count() >= 10
    assert missed == {"Y90006"}


def test_demo_migrations_were_tracked_from_their_start_so_none_asks_to_catch_up(seeded, client):
    # The page's note about items due before a migration was added is for those started part way through.
    client.force_login(User.objects.get(email__startswith="dp@"))
    for migration in PracticeMigration.objects.all():
        first_due = migration.items.exclude(due_on=None).order_by("due_on").values_list("due_on", flat=True).first()
        assert timezone.localdate(migration.created_at) <= first_due
        page = client.get(f"/migrations/{migration.pk}/").content.decode()
        assert "added to the tracker" not in page, migration


def test_demo_dashboard_figures_are_counted_as_the_migration_pages_count_them(seeded):
    # The demo's migrations are dated back to their first item; their kept day figures (what the
    # dashboard reads) are those of that date, so the dashboard and each page give the same RAG status.
    for migration in PracticeMigration.objects.select_related("progress"):
        kept, counted = kept_and_counted_day_figures(migration.progress, TODAY)
        assert migration.progress.counts_on == TODAY
        assert kept == counted, migration
    slipping = PracticeMigration.objects.get(practice__name="Harbour Lane Family Practice")
    assert slipping.progress.gates_overdue > 0


def test_demo_items_were_done_on_the_day_they_fell_due(seeded):
    # Not when the demo was made: the record and the histories read in order (a live migration's
    # gates signed before its go-live).
    done = ChecklistItem.objects.filter(status=ItemStatus.DONE).select_related("migration")
    assert done.count() > 100
    for item in done:
        assert timezone.localdate(item.completed_at) == item.due_on, item
        changes = item.events.filter(kind__in=[Event.Kind.STATUS, Event.Kind.SIGN_OFF])
        assert changes.exists()
        assert {timezone.localdate(event.at) for event in changes} == {item.due_on}, item
    live = PracticeMigration.objects.get(practice__name="Meadowbank Surgery")
    gates = done.filter(migration=live, kind=ItemKind.GATE)
    assert gates.exists()
    assert all(
        timezone.localdate(gate.completed_at) <= live.go_live_on for gate in gates if gate.due_on <= live.go_live_on
    )
