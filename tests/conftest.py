"""Shared fixtures: the published guide, one demo practice with its delivery partner and ICB, a
migration of that practice (and another practice's), the personas who work on it, the clock
stopped on the demo's day, and the migrations around the demo's that the dashboard tests list.

Fixture names are a contract: the page, dashboard and reminder tests use them too.
"""

import copy
import functools
import importlib
from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import validate_django_db
from pytest_django.plugin import blocking_manager_key

from migrations_app.checklist_templates import guide_file
from migrations_app.management.commands.flush import frozen_template_triggers_lifted
from migrations_app.middleware import start_session
from migrations_app.models import (
    ICB,
    ChecklistTemplate,
    DeliveryPartner,
    ItemTemplate,
    PhaseTemplate,
    Practice,
    PracticeMigration,
    Role,
    Supplier,
    TemplateVersion,
    User,
)
from tests.factories import (
    GO_LIVE_ON,
    MILESTONE_DATES,
    DeliveryPartnerFactory,
    ICBFactory,
    MembershipFactory,
    PracticeFactory,
    SupplierFactory,
    UserFactory,
    make_migration,
)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    # Every persona has a password; the default PBKDF2 work factor would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def remembered_statements_checked(settings) -> None:
    # Every statement run again for a key is written again and compared (compiled.Remembered): kept
    # from test to test, so that a key naming too little meets another test's data and fails.
    settings.CHECK_REMEMBERED_SQL = True


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """The API's throttles count requests in the cache (per person, per address: every test client
    is 127.0.0.1); each test starts with none counted."""
    cache.clear()


@pytest.fixture(autouse=True)
def force_login_includes_the_second_factor(monkeypatch) -> None:
    """`client.force_login(user)` stands for a completed sign-in: for a user with a two-factor
    device that includes the code. The two-factor tests sign in through the pages instead."""
    original = Client.force_login

    def force_login(self, user, backend=None) -> None:
        original(self, user, backend)
        session = self.session
        start_session(session, user)
        device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
        if device is not None:
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


def with_two_factor_device(user: User) -> User:
    """Staff, delivery-partner and ICB users must have a second factor; give them a confirmed one."""
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


TEMPLATE_EDITORS_MIGRATION = importlib.import_module("migrations_app.migrations.0006_template_editing")


@pytest.fixture
def template_editor(db) -> User:
    """A staff user in the Template editors group, with a second factor. The group is the one
    migration 0006 makes; transactional tests empty the database after them, so it is made
    again, with the migration's permissions, when a later test finds it gone."""
    group, created = Group.objects.get_or_create(name="Template editors")
    if created:
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="migrations_app",
                codename__in=TEMPLATE_EDITORS_MIGRATION.TEMPLATE_EDITOR_PERMISSIONS,
            )
        )
    user = with_two_factor_device(UserFactory(email="editor@england.nhs.uk", full_name="Tess Editor", is_staff=True))
    user.groups.add(group)
    return user


STAFF_GROUPS_MIGRATION = importlib.import_module("migrations_app.migrations.0010_staff_groups")
PRACTICE_CORRECTIONS_MIGRATION = importlib.import_module(
    "migrations_app.migrations.0024_support_admins_correct_practices"
)


def in_group(user: User, name: str) -> User:
    """Add `user` to the group migration 0010 makes, with what later migrations add to it (made
    again, with its permissions, when a transactional test has emptied the database)."""
    group, created = Group.objects.get_or_create(name=name)
    if created:
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="migrations_app",
                codename__in=[
                    *STAFF_GROUPS_MIGRATION.GROUPS[name],
                    *PRACTICE_CORRECTIONS_MIGRATION.ADDED.get(name, []),
                ],
            )
        )
    user.groups.add(group)
    return user


@pytest.fixture
def national_viewer(db) -> User:
    """NHS England: reads every migration and the national dashboard, changes nothing. Not staff
    (no Django admin), but two-factor, as anyone who can see many practices."""
    user = UserFactory(email="national.viewer@england.nhs.uk", full_name="Nia National")
    return with_two_factor_device(in_group(user, "National viewers"))


@pytest.fixture
def support_admin(db) -> User:
    """Staff in the Support admins group: acts on every migration, with the same audit trail."""
    user = UserFactory(email="support.admin@example.nhs.uk", full_name="Sid Support", is_staff=True)
    return with_two_factor_device(in_group(user, "Support admins"))


@pytest.fixture
def view_only_staff(db) -> User:
    """Staff with only the view permissions on practice migrations and reminder e-mails."""
    user = with_two_factor_device(UserFactory(email="view.only@example.nhs.uk", full_name="Vic Viewer", is_staff=True))
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="migrations_app", codename__in=["view_practicemigration", "view_delivery"]
        )
    )
    return user


@pytest.fixture(scope="session", autouse=True)
def guide_parsed_once():
    """Parse each guide text once per run: each test database publishes the guide (and again
    after a transactional test), and many tests load drafts and editions of their own. Each caller
    gets its own copy of the data, so nothing one test does to it reaches another, and a text with
    problems is parsed (and refused) every time it is loaded."""
    parse = functools.cache(guide_file.parse)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guide_file, "parse", lambda text: copy.deepcopy(parse(text)))
        yield


def publish_guide() -> None:
    call_command("load_guide", str(guide_file.GUIDE_FILE), stdout=StringIO())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """Each test database starts with the guide published, as `make run` and a real installation
    do: most tests work on a migration made from it, and loading it took a tenth of a second a
    test. A test runs in a transaction that is rolled back, so it always finds the guide as
    loaded. A test about loading into an empty database asks for `no_published_guide`."""
    with django_db_blocker.unblock():
        publish_guide()


TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences"}


def empties_the_database(item: pytest.Item) -> bool:
    """Whether pytest-django runs `item` as a TransactionTestCase, which empties every table after it."""
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        transaction, reset_sequences, *_ = validate_django_db(marker)
        if transaction or reset_sequences:
            return True
    return bool(TRANSACTIONAL_FIXTURES & set(item.fixturenames))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After a transactional test has emptied the tables, publish the guide again for the tests
    after it (the test's own fixtures have been torn down by now)."""
    result = yield
    if nextitem is not None and empties_the_database(item):
        with item.config.stash[blocking_manager_key].unblock():
            publish_guide()
    return result


@pytest.fixture
def guide_version(db) -> TemplateVersion:
    """The published version of the guide, loaded from the real data file by the real command
    (once per test database: `django_db_setup`)."""
    published = TemplateVersion.objects.published().filter(template__slug="practice-migration").first()
    if published is None:
        publish_guide()
        published = TemplateVersion.objects.published().get(template__slug="practice-migration")
    return published


@pytest.fixture
def no_published_guide(db) -> None:
    """The database as before `load_guide` first ran: no checklist template. The guide's tables
    are emptied inside the test's transaction, so the next test finds them as they were. Ask
    for it before any fixture that makes a migration. PostgreSQL's TRUNCATE fires no row
    triggers (published versions are frozen by them); on SQLite they are lifted meanwhile."""
    tables = [model._meta.db_table for model in (ItemTemplate, PhaseTemplate, TemplateVersion, ChecklistTemplate)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            with frozen_template_triggers_lifted(connection.alias):
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")
    assert not TemplateVersion.objects.exists()


# Thursday 10 April 2025, 09:30 in London. With the demo milestones (tests.factories.MILESTONE_DATES),
# IDP is on Monday 14 April, 4 days away, and go-live on Monday 9 June, 60 days on.
TODAY = date(2025, 4, 10)
NOW = datetime(2025, 4, 10, 9, 30, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture
def frozen_now(time_machine) -> datetime:
    """The clock stopped at NOW (pages' modules use it for every test: `usefixtures`)."""
    time_machine.move_to(NOW, tick=False)
    return NOW


# --- organisations ---------------------------------------------------------------------------------


@pytest.fixture
def icb(db) -> ICB:
    return ICBFactory(code="QWE", name="NHS South West London Integrated Care Board")


@pytest.fixture
def delivery_partner(db) -> DeliveryPartner:
    return DeliveryPartnerFactory(name="South West London Commissioning Support Unit")


@pytest.fixture
def practice(icb, delivery_partner) -> Practice:
    return PracticeFactory(
        ods_code="H85001", name="Riverside Medical Centre", icb=icb, delivery_partner=delivery_partner
    )


@pytest.fixture
def source_supplier(db) -> Supplier:
    return SupplierFactory(name="EMIS Health", system_name="EMIS Web")


@pytest.fixture
def target_supplier(db) -> Supplier:
    return SupplierFactory(name="TPP", system_name="SystmOne")


# --- personas: each a user with one membership on the demo practice or its organisations -----------


@pytest.fixture
def practice_manager(practice) -> User:
    user = UserFactory(email="practice.manager@example.nhs.uk", full_name="Priya Manager")
    MembershipFactory(user=user, role=Role.PRACTICE_MANAGER, practice=practice)
    return user


@pytest.fixture
def practice_staff(practice) -> User:
    user = UserFactory(email="practice.staff@example.nhs.uk", full_name="Sam Staff")
    MembershipFactory(user=user, role=Role.PRACTICE_STAFF, practice=practice)
    return user


@pytest.fixture
def clinical_lead(practice) -> User:
    user = UserFactory(email="clinical.lead@example.nhs.uk", full_name="Dr Chris Lead")
    MembershipFactory(user=user, role=Role.CLINICAL_LEAD, practice=practice)
    return user


@pytest.fixture
def delivery_partner_user(delivery_partner) -> User:
    user = UserFactory(email="project.manager@example.nhs.uk", full_name="Dana Partner")
    MembershipFactory(user=user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=delivery_partner)
    return with_two_factor_device(user)


@pytest.fixture
def icb_user(icb) -> User:
    user = UserFactory(email="icb.lead@example.nhs.uk", full_name="Ivan Board")
    MembershipFactory(user=user, role=Role.ICB_LEAD, practice=None, icb=icb)
    return with_two_factor_device(user)


@pytest.fixture
def outsider(db) -> User:
    """Signed in, but a member of nothing."""
    return UserFactory(email="outsider@example.com", full_name="Olive Outsider")


@pytest.fixture
def admin_user(db) -> User:
    """Staff: maintains the checklist templates and sees every migration. Overrides pytest-django's
    fixture of the same name, so its `admin_client` signs in as this user."""
    return with_two_factor_device(
        UserFactory(email="admin@example.nhs.uk", full_name="Ada Admin", is_staff=True, is_superuser=True)
    )


# --- the demo migration ----------------------------------------------------------------------------


@pytest.fixture
def migration(guide_version, practice, source_supplier, target_supplier, delivery_partner_user) -> PracticeMigration:
    """The demo practice's migration from EMIS Web to SystmOne, every milestone agreed
    (tests.factories.MILESTONE_DATES), made from the published guide."""
    return PracticeMigration.start(
        practice=practice,
        source_supplier=source_supplier,
        target_supplier=target_supplier,
        template_version=guide_version,
        created_by=delivery_partner_user,
        **MILESTONE_DATES,
    )


@pytest.fixture
def other_migration(guide_version) -> PracticeMigration:
    """Another practice's migration, in another ICB and with another delivery partner."""
    return make_migration(template_version=guide_version)


# --- the dashboards' migrations ----------------------------------------------------------------------


def going_live(on: date | None, *, practice, template_version, source=None, target=None, **fields):
    """A migration whose milestones are the demo's moved to go-live on `on` (None: no dates yet)."""
    if on is None:
        dates = dict.fromkeys(MILESTONE_DATES)
    else:
        dates = {name: day + (on - GO_LIVE_ON) for name, day in MILESTONE_DATES.items()}
    return make_migration(
        practice=practice,
        source_supplier=source,
        target_supplier=target,
        template_version=template_version,
        **(dates | fields),
    )


@pytest.fixture
def world(guide_version, migration, icb, delivery_partner, source_supplier, target_supplier):
    """Four migrations around the demo practice's (Riverside, ICB and delivery partner of the personas):
    Hilltop (same delivery partner, another ICB, going live in 2 weeks, the systems the other way),
    Valley (same ICB, another delivery partner, live 10 days ago), Faraway (neither, no dates)."""
    hilltop = going_live(
        TODAY + timedelta(days=14),
        practice=PracticeFactory(
            name="Hilltop Surgery", ods_code="K81002", icb=ICBFactory(), delivery_partner=delivery_partner
        ),
        source=target_supplier,
        target=source_supplier,
        template_version=guide_version,
    )
    valley = going_live(
        TODAY - timedelta(days=10),
        practice=PracticeFactory(
            name="Valley Health Centre", ods_code="K81003", icb=icb, delivery_partner=DeliveryPartnerFactory()
        ),
        source=source_supplier,
        target=target_supplier,
        template_version=guide_version,
    )
    faraway = going_live(
        None, practice=PracticeFactory(name="Faraway Practice", ods_code="Y01234"), template_version=guide_version
    )
    return {"riverside": migration, "hilltop": hilltop, "valley": valley, "faraway": faraway}
