"""Starting one migration with the start form: found or new practice, the model's checks shown next
to their fields with nothing saved, and a checklist from the latest published version."""

import re

import pytest
from django.urls import reverse

from migrations_app.models import Event, Practice, PracticeMigration, Role, TemplateVersion
from tests.factories import MembershipFactory, PracticeFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

URL = reverse("migrations:migration_start")


def dates(**days) -> dict:
    """Date-input fields: `order_accepted="3/3/2025"` gives order_accepted-day, -month and -year."""
    data = {}
    for milestone, typed in days.items():
        day, month, year = typed.split("/")
        data |= {f"{milestone}-day": day, f"{milestone}-month": month, f"{milestone}-year": year}
    return data


@pytest.fixture
def hilltop(delivery_partner, guide_version):
    """A practice the demo delivery partner supports, with no migration yet."""
    return PracticeFactory(ods_code="K81002", name="Hilltop Surgery", delivery_partner=delivery_partner)


@pytest.fixture
def form_data(source_supplier, target_supplier) -> dict:
    return {
        "source_supplier": source_supplier.pk,
        "target_supplier": target_supplier.pk,
        **dates(order_accepted="3/3/2025", go_live="9/6/2025"),
    }


def state() -> tuple:
    return (
        list(Practice.objects.order_by("pk").values_list("pk", flat=True)),
        list(PracticeMigration.objects.order_by("pk").values_list("pk", flat=True)),
        Event.objects.count(),
    )


def test_a_delivery_partner_starts_a_migration_for_a_practice_they_support(
    client, delivery_partner_user, hilltop, form_data, guide_version
):
    client.force_login(delivery_partner_user)

    response = client.post(
        URL,
        form_data
        | {
            "practice": hilltop.pk,
            "conditions": ["dispensing_practice"],
            "project_manager": delivery_partner_user.pk,
        },
    )

    started = PracticeMigration.objects.get(practice=hilltop)
    assert response.status_code == 302
    assert response.url == reverse("migrations:migration_detail", kwargs={"pk": started.pk})
    assert started.template_version == TemplateVersion.objects.published().order_by("-number").first()
    assert started.created_by == delivery_partner_user
    assert started.project_manager == delivery_partner_user
    assert started.dispensing_practice and not started.new_hardware_needed
    assert str(started.go_live_on) == "2025-06-09"
    assert started.items.count() == guide_version.items().count()
    assert started.items.filter(due_on__isnull=False).exists()


def test_a_new_practice_is_added_with_the_delivery_partners_name_on_it(
    client, delivery_partner_user, delivery_partner, icb, form_data, guide_version
):
    client.force_login(delivery_partner_user)

    response = client.post(
        URL,
        form_data | {"practice": "new", "new_name": "New Road Surgery", "new_ods_code": " k82001 ", "new_icb": icb.pk},
    )

    practice = Practice.objects.get(ods_code="K82001")
    assert response.status_code == 302
    assert (practice.name, practice.icb, practice.delivery_partner) == ("New Road Surgery", icb, delivery_partner)
    assert PracticeMigration.objects.filter(practice=practice).exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"practice": ""}, "practice", "Select the practice, or add it"),
        (
            {"target_supplier": "source"},
            "target_supplier",
            "The new system must be different from the current system.",
        ),
        (dates(go_live="1/3/2025"), None, "Go-live must be after the order date."),
        (
            {"order_accepted-day": "", "order_accepted-month": "", "order_accepted-year": ""},
            None,
            "Enter the order date",
        ),
        (dates(order_accepted="31/2/2025"), None, "Order date must be a real date, for example 27 3 2027"),
    ],
    ids=["no practice", "same systems", "date order", "no order date", "not a date"],
)
def test_the_models_checks_are_shown_and_nothing_is_saved(
    client, delivery_partner_user, hilltop, form_data, source_supplier, changes, field, message
):
    client.force_login(delivery_partner_user)
    data = form_data | {"practice": hilltop.pk} | changes
    if data["target_supplier"] == "source":
        data["target_supplier"] = source_supplier.pk
    before = state()

    response = client.post(URL, data)

    assert response.status_code == 400
    assert message in response.content.decode()
    if field:
        assert message in response.context["form"].errors[field]
    assert "There is a problem" in response.content.decode()
    assert state() == before


def test_a_practice_with_an_unfinished_migration_is_an_error_on_the_practice(
    client, delivery_partner_user, migration, form_data
):
    client.force_login(delivery_partner_user)
    before = state()

    response = client.post(URL, form_data | {"practice": migration.practice.pk})

    assert response.status_code == 400
    assert response.context["form"].errors["practice"] == ["This practice already has a migration in progress."]
    assert state() == before


@pytest.mark.parametrize(
    ("new", "field", "message"),
    [
        ({"new_ods_code": "K8200"}, "new_ods_code", "Enter a GP practice ODS code: one letter followed by five digits"),
        (
            {"new_ods_code": "Y990011"},
            "new_ods_code",
            "Enter a GP practice ODS code: one letter followed by five digits",
        ),
        ({"new_ods_code": "not an ods!!"}, "new_ods_code", "Enter a GP practice ODS code: one letter followed by five"),
        ({"new_ods_code": "H85001"}, "new_ods_code", "H85001 is in the tracker already: search for it above"),
        ({"new_name": ""}, "new_name", "Enter the practice name"),
        ({"new_icb": ""}, "new_icb", "Select the practice's ICB"),
    ],
)
def test_a_new_practice_the_model_refuses_is_not_added(
    client, delivery_partner_user, migration, icb, form_data, new, field, message
):
    client.force_login(delivery_partner_user)
    data = form_data | {"practice": "new", "new_name": "New Road Surgery", "new_ods_code": "K82001", "new_icb": icb.pk}
    before = state()

    response = client.post(URL, data | new)

    assert response.status_code == 400
    (error,) = response.context["form"].errors[field]  # one message a box
    assert error.startswith(message)
    assert state() == before


def test_a_new_practice_with_the_code_of_another_partners_practice_says_who_may_help_without_naming_it(
    client, delivery_partner_user, other_migration, icb, form_data
):
    elsewhere = other_migration.practice
    client.force_login(delivery_partner_user)
    data = form_data | {"practice": "new", "new_name": "New Road Surgery", "new_ods_code": elsewhere.ods_code}
    before = state()

    response = client.post(URL, data | {"new_icb": icb.pk})

    assert response.status_code == 400
    (error,) = response.context["form"].errors["new_ods_code"]
    assert error == (
        f"Another delivery partner supports the practice {elsewhere.ods_code}: if it has moved to yours, "
        "a support admin can change its delivery partner"
    )
    assert elsewhere.name not in response.content.decode()
    assert state() == before


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://example.com","Surgery")', "@SUM(1+1)", "+44 Surgery", "-1+1 Surgery", " =1+1"]
)
def test_a_new_practice_name_the_import_would_refuse_as_a_formula_is_refused(
    client, delivery_partner_user, icb, form_data, guide_version, name
):
    client.force_login(delivery_partner_user)
    data = form_data | {"practice": "new", "new_name": name, "new_ods_code": "K82001", "new_icb": icb.pk}
    before = state()

    response = client.post(URL, data)

    assert response.status_code == 400
    assert response.context["form"].errors["new_name"] == ["The practice name must not start with =, +, - or @"]
    assert "There is a problem" in response.content.decode()
    assert "The practice name must not start with =, +, - or @" in response.content.decode()
    assert state() == before


def test_a_practice_name_with_those_characters_inside_it_is_taken(
    client, delivery_partner_user, icb, form_data, guide_version
):
    client.force_login(delivery_partner_user)
    data = form_data | {"practice": "new", "new_name": "Smith-Jones & Partners +", "new_ods_code": "K82001"}

    response = client.post(URL, data | {"new_icb": icb.pk})

    assert response.status_code == 302
    assert Practice.objects.get(ods_code="K82001").name == "Smith-Jones & Partners +"


def test_a_new_practice_with_bad_dates_is_not_added_either(
    client, delivery_partner_user, icb, form_data, guide_version
):
    client.force_login(delivery_partner_user)
    data = form_data | {"practice": "new", "new_name": "New Road Surgery", "new_ods_code": "K82001", "new_icb": icb.pk}
    before = state()

    response = client.post(URL, data | dates(go_live="1/1/2025"))

    assert response.status_code == 400
    assert state() == before


def test_a_practice_another_delivery_partner_supports_cannot_be_chosen(
    client, delivery_partner_user, other_migration, form_data
):
    client.force_login(delivery_partner_user)
    before = state()

    search = client.get(URL, {"search": other_migration.practice.ods_code})
    response = client.post(URL, form_data | {"practice": other_migration.practice.pk})

    assert other_migration.practice.name not in search.content.decode()
    assert response.context["form"].errors["practice"] == ["Select the practice, or add it"]
    assert state() == before


def test_the_project_manager_must_be_of_the_practices_delivery_partner(
    client, support_admin, hilltop, other_migration, form_data
):
    stranger = UserFactory(full_name="Olly Other")
    MembershipFactory(
        user=stranger,
        role=Role.DELIVERY_PARTNER,
        practice=None,
        delivery_partner=other_migration.practice.delivery_partner,
    )
    client.force_login(support_admin)

    response = client.post(URL, form_data | {"practice": hilltop.pk, "project_manager": stranger.pk})

    assert response.status_code == 400
    assert response.context["form"].errors["project_manager"] == [
        f"Choose a project manager of {hilltop.delivery_partner}, the practice's delivery partner"
    ]


def test_a_support_admin_starts_for_any_practice_and_chooses_a_new_ones_delivery_partner(
    client, support_admin, other_migration, delivery_partner, icb, form_data
):
    client.force_login(support_admin)
    new = {"practice": "new", "new_name": "New Road Surgery", "new_ods_code": "K82001", "new_icb": icb.pk}

    refused = client.post(URL, form_data | new)
    started = client.post(URL, form_data | new | {"new_delivery_partner": delivery_partner.pk})

    assert refused.context["form"].errors["new_delivery_partner"] == ["Select the practice's delivery partner"]
    assert started.status_code == 302
    assert Practice.objects.get(ods_code="K82001").delivery_partner == delivery_partner
    assert other_migration.practice.name in client.get(URL, {"search": other_migration.practice.name}).content.decode()


def test_the_search_finds_practices_by_ods_code_or_name_whole_page_or_in_place(
    client, delivery_partner_user, hilltop, migration
):
    client.force_login(delivery_partner_user)

    by_code = client.get(URL, {"search": "k810"})
    by_name = client.get(URL, {"search": "hillt"}, headers={"HX-Request": "true"})

    assert by_code.status_code == 200
    assert "Hilltop Surgery (K81002)" in by_code.content.decode()
    assert "<html" in by_code.content.decode()
    assert "Hilltop Surgery (K81002)" in by_name.content.decode()
    assert "<html" not in by_name.content.decode()
    assert 'hx-swap-oob="true"' in by_name.content.decode()
    assert "Riverside" not in by_name.content.decode()


def test_or_comes_between_the_practices_found_and_adding_one_and_only_when_some_are_found(
    client, delivery_partner_user, hilltop, migration
):
    client.force_login(delivery_partner_user)
    divider = '<div class="nhsuk-radios__divider">or</div>'

    before = client.get(URL).content.decode()
    nothing = client.get(URL, {"search": "no such practice"}, headers={"HX-Request": "true"}).content.decode()
    found = client.get(URL, {"search": "k810"}).content.decode()
    in_place = client.get(URL, {"search": "hillt"}, headers={"HX-Request": "true"}).content.decode()

    assert divider not in before and divider not in nothing
    assert found.index("Hilltop Surgery (K81002)") < found.index(divider) < found.index("The practice is not listed")
    assert in_place.count(divider) == 1 and in_place.index("Hilltop Surgery") < in_place.index(divider)


def test_a_practice_with_an_unfinished_migration_is_marked_in_the_search(client, delivery_partner_user, migration):
    client.force_login(delivery_partner_user)

    response = client.get(URL, {"search": "H85001"})

    assert "It has a migration that is not finished." in response.content.decode()


@pytest.mark.parametrize("persona", ["practice_manager", "icb_user", "national_viewer", "outsider"])
def test_people_who_may_not_start_migrations_get_403(client, request, persona, migration):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 403
    assert client.get(reverse("migrations:import_upload")).status_code == 403


@pytest.mark.parametrize(
    ("persona", "shown"), [("delivery_partner_user", True), ("support_admin", True), ("icb_user", False)]
)
def test_the_dashboard_offers_starting_and_importing_to_those_who_may(client, request, persona, shown, migration):
    client.force_login(request.getfixturevalue(persona))

    page = client.get(reverse("migrations:dashboard")).content.decode()

    assert ("Start a migration" in page) is shown
    assert ("Import migrations" in page) is shown


def test_a_go_live_that_has_passed_is_shown_to_check_and_nothing_is_started_until_sent_again(
    client, delivery_partner_user, hilltop, form_data
):
    client.force_login(delivery_partner_user)
    before = state()
    data = form_data | {"practice": hilltop.pk} | dates(go_live="2/4/2025")  # a Wednesday, eight days ago

    checking = client.post(URL, data)

    html = checking.content.decode()
    assert checking.status_code == 200
    assert state() == before  # nothing saved
    assert "Check these dates before starting" in html
    assert "<title>Check the dates: Start a migration" in html
    assert 'id="date-warnings" tabindex="-1" autofocus' in html  # focused, as an error summary is
    assert "Go-live, 2 April 2025, has passed: the migration would start with every item due before it overdue." in html
    key = re.search(r'name="warned_dates" value="([^"]+)"', html).group(1)
    assert 'name="go_live-day" type="text" inputmode="numeric" value="2"' in html  # the dates as typed

    # Changed meanwhile, the dates are checked again; sent again as they were shown, it starts.
    changed = client.post(URL, data | dates(go_live="3/4/2025") | {"warned_dates": key})
    started = client.post(URL, data | {"warned_dates": key})

    assert "Go-live, 3 April 2025, has passed" in changed.content.decode()
    assert state() != before
    migration = PracticeMigration.objects.get(practice=hilltop)
    assert started.url == reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    assert str(migration.go_live_on) == "2025-04-02"


def test_dates_with_nothing_to_check_start_at_once(client, delivery_partner_user, hilltop, form_data):
    client.force_login(delivery_partner_user)

    response = client.post(URL, form_data | {"practice": hilltop.pk})

    assert response.status_code == 302
    assert PracticeMigration.objects.filter(practice=hilltop).exists()


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Walker's Surgery", "walker\u2019s"),  # a phone's apostrophe finds the straight one
        ("Walker\u2019s Surgery", "Walker's"),  # and the other way round
        ("St Mary's Surgery", "st  mary's  surgery"),  # a run of spaces is one
    ],
)
def test_the_search_takes_apostrophes_and_spaces_as_people_type_them(
    client, delivery_partner_user, delivery_partner, guide_version, stored, typed
):
    PracticeFactory(ods_code="K81003", name=stored, delivery_partner=delivery_partner)
    PracticeFactory(ods_code="K81004", name="Walkers Lane Surgery", delivery_partner=delivery_partner)
    client.force_login(delivery_partner_user)

    found = client.get(URL, {"search": typed}).content.decode()

    assert "(K81003)" in found
    assert "(K81004)" not in found
