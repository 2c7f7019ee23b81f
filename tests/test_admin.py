"""Admins set up organisations and migrations in the Django admin."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import escape

from migrations_app.models import (
    ChecklistItem,
    Condition,
    Event,
    ItemStatus,
    Membership,
    Practice,
    PracticeMigration,
    Role,
    User,
)
from tests.factories import (
    MILESTONE_DATES,
    DeliveryPartnerFactory,
    ICBFactory,
    MembershipFactory,
    SupplierFactory,
    UserFactory,
)
from tests.pages import text

pytestmark = pytest.mark.django_db


def _migration_form(practice, source_supplier, target_supplier, **dates) -> dict:
    data = {
        "practice": practice.pk,
        "source_supplier": source_supplier.pk,
        "target_supplier": target_supplier.pk,
        "status": "active",
        "dispensing_practice": "",
        "new_hardware_needed": "",
    }
    for field, value in (MILESTONE_DATES | dates).items():
        data[field] = value.isoformat() if value else ""
    return data


def test_adding_a_migration_in_the_admin_copies_the_published_checklist(
    client, admin_user, guide_version, practice, source_supplier, target_supplier
):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_practicemigration_add"),
        _migration_form(practice, source_supplier, target_supplier),
    )

    assert response.status_code == 302
    migration = PracticeMigration.objects.get(practice=practice)
    assert migration.template_version == guide_version
    assert migration.created_by == admin_user
    assert migration.items.count() == guide_version.items().count()
    assert Event.objects.filter(migration=migration, kind=Event.Kind.CREATED).count() == 1


def test_admin_refuses_go_live_before_fdp_and_saves_nothing(
    client, admin_user, guide_version, practice, source_supplier, target_supplier
):
    client.force_login(admin_user)
    fdp_on = MILESTONE_DATES["fdp_on"]

    response = client.post(
        reverse("admin:migrations_app_practicemigration_add"),
        _migration_form(practice, source_supplier, target_supplier, go_live_on=fdp_on.replace(day=fdp_on.day - 1)),
    )

    assert response.status_code == 200
    assert "Go-live cannot be before final data production (FDP)." in response.content.decode()
    assert not PracticeMigration.objects.exists()


def test_admin_refuses_an_unknown_supplier_and_saves_nothing(
    client, admin_user, guide_version, practice, source_supplier, target_supplier
):
    client.force_login(admin_user)
    data = _migration_form(practice, source_supplier, target_supplier) | {"target_supplier": 999999}

    response = client.post(reverse("admin:migrations_app_practicemigration_add"), data)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not PracticeMigration.objects.exists()


def test_admin_refuses_the_same_supplier_on_both_sides(client, admin_user, guide_version, practice, source_supplier):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_practicemigration_add"),
        _migration_form(practice, source_supplier, source_supplier),
    )

    assert "The new system must be different from the current system." in response.content.decode()
    assert not PracticeMigration.objects.exists()


def test_admin_stores_a_practice_code_in_upper_case(client, admin_user, icb, delivery_partner):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_practice_add"),
        {"ods_code": " b82005 ", "name": "Brook Surgery", "icb": icb.pk, "delivery_partner": delivery_partner.pk},
    )

    assert response.status_code == 302
    assert Practice.objects.get(name="Brook Surgery").ods_code == "B82005"


def test_admin_explains_an_invalid_practice_code(client, admin_user, icb):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_practice_add"), {"ods_code": "B8200", "name": "Brook Surgery", "icb": icb.pk}
    )

    assert "one letter followed by five digits, for example A81001" in response.content.decode()
    assert not Practice.objects.filter(name="Brook Surgery").exists()


def test_a_practice_code_of_the_wrong_length_gets_one_message(client, admin_user, icb, delivery_partner):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_practice_add"),
        {"ods_code": "B82 005", "name": "Brook Surgery", "icb": icb.pk, "delivery_partner": delivery_partner.pk},
    )

    errors = response.context["adminform"].form.errors["ods_code"]
    assert len(errors) == 1 and "one letter followed by five digits" in errors[0]
    assert not Practice.objects.filter(name="Brook Surgery").exists()


def test_a_read_only_field_links_to_another_admin_page_only_for_someone_who_may_open_it(
    client, migration, support_admin, admin_user
):
    # A support admin reads practices and migrations but not ICBs or checklist versions: their names
    # are shown as text, not as links to a 403. A superuser gets the links.
    practice, icb = migration.practice, migration.practice.icb
    practice_page = reverse("admin:migrations_app_practice_change", args=(practice.pk,))
    migration_page = reverse("admin:migrations_app_practicemigration_change", args=(migration.pk,))
    icb_page = reverse("admin:migrations_app_icb_change", args=(icb.pk,))
    version_page = reverse("admin:migrations_app_templateversion_change", args=(migration.template_version_id,))

    client.force_login(support_admin)
    as_support = client.get(practice_page).content.decode() + client.get(migration_page).content.decode()
    refused = [client.get(icb_page).status_code, client.get(version_page).status_code]

    assert refused == [403, 403]
    assert icb.name in as_support
    assert f'href="{icb_page}"' not in as_support
    assert f'href="{version_page}"' not in as_support
    client.force_login(admin_user)
    as_superuser = client.get(migration_page).content.decode()
    assert f'href="{version_page}"' in as_superuser


def test_an_administration_page_refused_gives_the_administrations_advice(client, migration, support_admin):
    client.force_login(support_admin)

    response = client.get(reverse("admin:migrations_app_icb_change", args=(migration.practice.icb_id,)))

    page = text(response.content.decode())
    assert response.status_code == 403
    assert "Your administration role does not let you open this page." in page
    assert "practice manager or delivery partner" not in page
    assert f'href="{reverse("admin:index")}"' in response.content.decode()


def change_form_data(client, url: str, **changes) -> dict:
    """The admin change form as it comes, with `changes`: what saving it unchanged would send."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            value = "on" if value else ""
        data[name] = "" if value is None else value
    return data | changes


def test_the_admin_offers_and_accepts_only_the_delivery_partners_people_as_project_manager(
    client, migration, support_admin, practice_staff, delivery_partner_user
):
    url = reverse("admin:migrations_app_practicemigration_change", args=[migration.pk])
    PracticeMigration.objects.filter(pk=migration.pk).update(project_manager=None)
    client.force_login(support_admin)

    offered = client.get(url).context["adminform"].form.fields["project_manager"].queryset
    refused = client.post(url, change_form_data(client, url, project_manager=practice_staff.pk))
    accepted = client.post(url, change_form_data(client, url, project_manager=delivery_partner_user.pk))

    assert list(offered) == [delivery_partner_user]
    assert refused.status_code == 200
    assert "Choose one of the people of the delivery partner that supports the practice." in text(
        refused.content.decode()
    )
    assert accepted.status_code == 302
    migration.refresh_from_db()
    assert migration.project_manager == delivery_partner_user
    # Named as the migration page names one: in its history, with who did it.
    event = Event.objects.get(migration=migration, field="project_manager")
    assert (event.actor, event.old_value, event.new_value) == (support_admin, "", str(delivery_partner_user))


def test_a_new_migration_in_the_admin_refuses_another_delivery_partners_project_manager(
    client, admin_user, guide_version, practice, source_supplier, target_supplier
):
    elsewhere = MembershipFactory(
        role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=DeliveryPartnerFactory()
    ).user
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_practicemigration_add"),
        _migration_form(practice, source_supplier, target_supplier) | {"project_manager": elsewhere.pk},
    )

    assert response.status_code == 200
    assert f"{elsewhere} is not a project manager at {practice.delivery_partner}, which supports the practice" in text(
        response.content.decode()
    )
    assert not PracticeMigration.objects.filter(practice=practice).exists()


def test_a_condition_changed_in_the_admin_makes_the_checklist_follow_and_is_in_the_history(
    client, migration, support_admin
):
    hardware = Condition.NEW_HARDWARE_NEEDED
    items = list(migration.items.filter(condition=hardware))
    url = reverse("admin:migrations_app_practicemigration_change", args=[migration.pk])
    client.force_login(support_admin)

    applied = client.post(url, change_form_data(client, url, **{hardware: "on"}), follow=True)

    assert items
    assert {item.status for item in ChecklistItem.objects.filter(pk__in=[item.pk for item in items])} == {
        ItemStatus.TO_DO
    }
    assert f"The conditions changed: {len(items)} checklist items now apply." in text(applied.content.decode())
    event = Event.objects.get(migration=migration, field=hardware)
    assert (event.actor, event.old_value, event.new_value, event.reason) == (
        support_admin,
        "no",
        "yes",
        "Changed in the administration",
    )

    withdrawn = client.post(url, change_form_data(client, url, **{hardware: ""}), follow=True)

    migration.refresh_from_db()
    assert migration.new_hardware_needed is False
    assert {item.status for item in ChecklistItem.objects.filter(pk__in=[item.pk for item in items])} == {
        ItemStatus.NOT_APPLICABLE
    }
    assert f"{len(items)} checklist items no longer apply." in text(withdrawn.content.decode())


def test_systems_changed_in_the_admin_are_in_the_migrations_history_by_name(
    client, migration, support_admin, source_supplier, target_supplier
):
    vision = SupplierFactory(name="Cegedim", system_name="Vision")
    url = reverse("admin:migrations_app_practicemigration_change", args=[migration.pk])
    client.force_login(support_admin)

    response = client.post(
        url, change_form_data(client, url, source_supplier=vision.pk, target_supplier=source_supplier.pk)
    )

    assert response.status_code == 302
    migration.refresh_from_db()
    assert (migration.source_supplier, migration.target_supplier) == (vision, source_supplier)
    events = Event.objects.filter(migration=migration, field__in=["source_supplier", "target_supplier"])
    assert sorted((event.field, event.old_value, event.new_value) for event in events) == [
        ("source_supplier", "EMIS Web", "Vision"),
        ("target_supplier", "SystmOne", "EMIS Web"),
    ]
    assert {(event.actor, event.kind, event.reason) for event in events} == {
        (support_admin, Event.Kind.ATTRIBUTE, "Changed in the administration")
    }


def test_saving_a_migration_with_its_systems_unchanged_logs_no_system_change(client, migration, support_admin):
    url = reverse("admin:migrations_app_practicemigration_change", args=[migration.pk])
    client.force_login(support_admin)

    response = client.post(url, change_form_data(client, url))

    assert response.status_code == 302
    assert not Event.objects.filter(migration=migration, field__in=["source_supplier", "target_supplier"]).exists()


def new_person_with_membership(**membership) -> dict:
    """The admin's add-person form, with one membership row."""
    return {
        "email": "new.person@example.nhs.uk",
        "full_name": "Nell New",
        "usable_password": "true",
        "password1": "a long enough password 42",
        "password2": "a long enough password 42",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **{f"memberships-0-{name}": value for name, value in membership.items()},
    }


@pytest.mark.parametrize(
    ("role", "organisations", "message"),
    [
        (Role.PRACTICE_MANAGER, ["icb"], "A practice manager belongs to a practice: choose the practice, not an ICB."),
        (Role.CLINICAL_LEAD, [], "A clinical lead belongs to a practice: choose the practice."),
        (
            Role.PRACTICE_STAFF,
            ["practice", "delivery_partner"],
            "Practice staff belong to a practice only: leave out a delivery partner.",
        ),
        (
            Role.DELIVERY_PARTNER,
            ["practice"],
            "A delivery partner project manager belongs to a delivery partner: choose the delivery partner, "
            "not a practice.",
        ),
        (
            Role.ICB_LEAD,
            ["practice", "delivery_partner"],
            "An ICB lead belongs to an ICB: choose the ICB, not a practice or a delivery partner.",
        ),
    ],
)
def test_a_membership_in_the_wrong_kind_of_organisation_is_explained_on_its_row(
    client, admin_user, practice, role, organisations, message
):
    chosen = {"practice": practice, "delivery_partner": practice.delivery_partner, "icb": practice.icb}
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_user_add"),
        new_person_with_membership(role=role, **{name: chosen[name].pk for name in organisations}),
    )

    page = text(response.content.decode())
    assert response.status_code == 200
    assert message in page
    assert "is violated" not in page
    # On the row's first box, the role, which shows at any width (the row's table scrolls sideways).
    row = re.search(r'<td class="field-role">.*?</td>', response.content.decode(), re.DOTALL).group(0)
    assert escape(message) in row
    assert not User.objects.filter(email="new.person@example.nhs.uk").exists()


def test_a_membership_in_the_right_kind_of_organisation_is_saved(client, admin_user, practice):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:migrations_app_user_add"),
        new_person_with_membership(role=Role.PRACTICE_MANAGER, practice=practice.pk),
    )

    assert response.status_code == 302
    person = User.objects.get(email="new.person@example.nhs.uk")
    assert list(Membership.objects.filter(user=person).values_list("role", "practice")) == [
        (Role.PRACTICE_MANAGER, practice.pk)
    ]


def test_the_two_factor_devices_are_named_and_searched_as_people_know_them(client, admin_user, practice_manager):
    client.force_login(admin_user)

    page = text(client.get(reverse("admin:otp_totp_totpdevice_changelist")).content.decode())
    found = client.get(reverse("admin:otp_totp_totpdevice_changelist"), {"q": practice_manager.full_name})

    assert "Two-factor sign-in" in page and "Otp_Totp" not in page
    assert "Search by the person's e-mail address or name." in page
    assert found.status_code == 200


def test_the_event_log_lists_the_latest_first_finds_who_acted_and_reads_as_the_pages_do(
    client, admin_user, migration, practice_manager, clinical_lead
):
    first, second = migration.items.filter(kind="task").order_by("pk")[:2]
    first.complete(practice_manager)
    second.complete(clinical_lead)
    client.force_login(admin_user)
    changelist = reverse("admin:migrations_app_event_changelist")

    listed = client.get(changelist, {"kind__exact": Event.Kind.STATUS}).context["cl"].result_list
    found = client.get(changelist, {"q": clinical_lead.email}).context["cl"].result_list
    page = client.get(changelist, {"kind__exact": Event.Kind.STATUS}).content.decode()

    assert [event.item for event in listed[:2]] == [second, first]
    assert {event.actor for event in found} == {clinical_lead}
    assert "To do" in page and "Done" in page and ">to_do<" not in page


def test_an_event_is_named_in_uk_time_as_its_fields_show_it(
    client, admin_user, migration, practice_manager, time_machine
):
    time_machine.move_to(datetime(2026, 7, 20, 9, 0, tzinfo=UTC))  # 10:00 in London (BST)
    task = migration.items.filter(kind="task").first()
    task.complete(practice_manager)
    event = Event.objects.get(item=task, field="status")
    client.force_login(admin_user)

    page = client.get(reverse("admin:migrations_app_event_change", args=[event.pk])).content.decode()

    assert "Status changed at 20 July 2026, 10:00" in text(page)
    assert "To do" in text(page) and "to_do" not in text(page)
    assert ">ICB:<" in page and "Icb" not in page
    assert "None" not in text(page)  # an event with no ICB of its own shows the admin's empty value


def test_each_box_of_a_membership_row_is_named_for_screen_readers(client, admin_user, practice_manager):
    client.force_login(admin_user)

    page = client.get(reverse("admin:migrations_app_user_change", args=[practice_manager.pk])).content.decode()

    role = re.search(r'<select name="memberships-0-role"[^>]*>', page).group(0)
    assert 'aria-label="Role of: the practice manager membership"' in role
    assert 'aria-label="Role of: the new membership"' in page


def test_a_support_admin_corrects_a_practices_details_and_each_change_is_in_the_event_log(
    client, migration, support_admin
):
    practice = migration.practice
    other_icb = ICBFactory(name="NHS Other Integrated Care Board")
    url = reverse("admin:migrations_app_practice_change", args=(practice.pk,))
    client.force_login(support_admin)
    old_name, old_icb = practice.name, practice.icb

    response = client.post(url, change_form_data(client, url, name="Riverside Medical Practice", icb=other_icb.pk))

    assert response.status_code == 302
    practice.refresh_from_db()
    assert (practice.name, practice.icb) == ("Riverside Medical Practice", other_icb)
    changes = Event.objects.filter(practice=practice, kind=Event.Kind.ATTRIBUTE, actor=support_admin)
    assert sorted(changes.values_list("field", "old_value", "new_value")) == [
        ("practice_icb", str(old_icb), str(other_icb)),
        ("practice_name", old_name, "Riverside Medical Practice"),
    ]
    assert {event.field_label() for event in changes} == {"ICB", "Practice name"}


def test_a_support_admin_neither_adds_nor_deletes_practices_and_others_change_none(
    client, migration, support_admin, template_editor
):
    practice = migration.practice
    change = reverse("admin:migrations_app_practice_change", args=(practice.pk,))
    client.force_login(support_admin)

    statuses = [
        client.get(reverse("admin:migrations_app_practice_add")).status_code,
        client.get(reverse("admin:migrations_app_practice_delete", args=(practice.pk,))).status_code,
    ]
    client.force_login(template_editor)
    statuses.append(client.post(change, {"name": "Renamed", "ods_code": practice.ods_code}).status_code)

    assert statuses == [403, 403, 403]
    practice.refresh_from_db()
    assert practice.name != "Renamed"


def test_a_change_refused_keeps_the_saved_name_in_the_heading(client, migration, support_admin):
    url = reverse("admin:migrations_app_practicemigration_change", args=[migration.pk])
    client.force_login(support_admin)
    saved = str(migration)
    same = migration.target_supplier_id

    response = client.post(url, change_form_data(client, url, source_supplier=same, target_supplier=same))

    html = response.content.decode()
    assert "The new system must be different from the current system." in html
    assert f"<h2>{escape(saved)}</h2>" in html
    target = migration.target_supplier.system_name
    assert f"{target} to {target}" not in text(html)


def test_a_practices_delivery_partner_is_changed_for_another_never_taken_away(client, migration, support_admin):
    practice = migration.practice
    url = reverse("admin:migrations_app_practice_change", args=(practice.pk,))
    client.force_login(support_admin)

    page = client.get(url).content.decode()
    refused = client.post(url, change_form_data(client, url, delivery_partner=""))
    padded = client.post(
        url, change_form_data(client, url, ods_code=f"  {practice.ods_code.lower()} ", name="  A   Name ")
    )

    # Nothing is offered that would be refused.
    partner_select = re.search(r'<select name="delivery_partner".*?</select>', page, re.DOTALL).group()
    assert "<option" in partner_select and "---------" not in partner_select
    assert refused.status_code == 200
    assert "Choose the delivery partner that supports the practice now" in refused.content.decode()
    assert padded.status_code == 302
    practice.refresh_from_db()
    assert practice.delivery_partner_id is not None
    assert practice.name == "A Name"  # spaces as the pages show them and searches find them


@pytest.mark.parametrize("group", ["Template editors", "Support admins"])
def test_a_person_put_in_an_administration_group_must_be_staff(client, admin_user, group):
    person = UserFactory()
    url = reverse("admin:migrations_app_user_change", args=[person.pk])
    client.force_login(admin_user)
    chosen = Group.objects.get(name=group).pk
    memberships = {f"memberships-{key}": "0" for key in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")}
    memberships["memberships-MAX_NUM_FORMS"] = "1000"
    memberships |= {"date_joined_0": person.date_joined.date().isoformat(), "date_joined_1": "10:00:00"}

    refused = client.post(url, change_form_data(client, url, groups=[chosen]) | memberships)
    accepted = client.post(url, change_form_data(client, url, groups=[chosen], is_staff="on") | memberships)

    assert refused.status_code == 200
    assert f'Tick "Is staff" as well: {group} work in the administration pages' in text(refused.content.decode())
    assert accepted.status_code == 302
    person.refresh_from_db()
    assert person.is_staff and list(person.groups.values_list("name", flat=True)) == [group]


def test_the_deliveries_and_item_templates_filters_say_what_they_filter_by(client, admin_user, guide_version):
    client.force_login(admin_user)

    deliveries = text(client.get(reverse("admin:migrations_app_delivery_changelist")).content.decode())
    items = text(client.get(reverse("admin:migrations_app_itemtemplate_changelist")).content.decode())

    assert "By day it is for" in deliveries and "By on " not in deliveries
    assert "By phase " in items and "By key " not in items


def test_admin_pages_leave_their_width_to_the_lists_without_a_menu_beside_them(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:migrations_app_practicemigration_changelist")).content.decode()

    assert 'id="nav-sidebar"' not in page
    assert 'id="changelist"' in page


@pytest.mark.parametrize("finish", ["cancel", "complete"])
def test_a_finished_migration_is_read_only_in_the_admin_as_on_its_page(client, migration, support_admin, finish):
    if finish == "cancel":
        migration.cancel(support_admin, reason="Practice merged")
    else:
        PracticeMigration.objects.filter(pk=migration.pk).update(status="completed", finished_at=datetime.now(UTC))
    url = reverse("admin:migrations_app_practicemigration_change", args=[migration.pk])
    client.force_login(support_admin)
    before = PracticeMigration.objects.filter(pk=migration.pk).values().get()

    page = client.get(url)
    posted = client.post(url, {"dispensing": "on", "project_manager": ""})

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert PracticeMigration.objects.filter(pk=migration.pk).values().get() == before
