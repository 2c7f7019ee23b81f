"""CompiledUpdate, CompiledInsert and CompiledSelect: a statement the ORM writes once, run with other values, does
what the queryset's own update() or iteration does; a value derived from an argument, or an argument
with no value, is refused rather than run wrong."""

import re
from datetime import date, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import BooleanField, F
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_init
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from migrations_app.models import ChecklistItem, ChecklistProgress, Event, ItemStatus
from migrations_app.models.compiled import CompiledInsert, CompiledSelect, CompiledUpdate, Remembered
from tests.factories import UserFactory, make_migration

pytestmark = pytest.mark.django_db


def add_done(migration_id: int, done: int, on: date):
    return ChecklistProgress.objects.filter(migration_id=migration_id), {
        "items_done": F("items_done") + done,
        "counts_on": on,
    }


def test_it_updates_as_the_querysets_own_update_would(guide_version):
    first, second = make_migration(), make_migration()
    statement = CompiledUpdate(ChecklistProgress, add_done, migration_id=int, done=int, on=date)
    before = {p.migration_id: p.items_done for p in ChecklistProgress.objects.all()}

    assert statement.update(migration_id=first.pk, done=3, on=date(2026, 5, 1)) == 1
    assert statement.update(migration_id=second.pk, done=5, on=date(2026, 6, 1)) == 1
    assert statement.update(migration_id=second.pk, done=-2, on=date(2026, 6, 2)) == 1
    rows, values = add_done(first.pk, 1, date(2026, 7, 3))
    assert rows.update(**values) == 1

    progress = {p.migration_id: p for p in ChecklistProgress.objects.all()}
    assert progress[first.pk].items_done == before[first.pk] + 4
    assert progress[first.pk].counts_on == date(2026, 7, 3)
    assert progress[second.pk].items_done == before[second.pk] + 3
    assert progress[second.pk].counts_on == date(2026, 6, 2)
    assert statement.update(migration_id=0, done=1, on=date(2026, 1, 1)) == 0


def test_a_value_derived_from_an_argument_is_refused(guide_version):
    migration = make_migration()

    def tomorrow(migration_id: int, on: date):
        return ChecklistProgress.objects.filter(migration_id=migration_id), {"counts_on": on + timedelta(days=1)}

    statement = CompiledUpdate(ChecklistProgress, tomorrow, migration_id=int, on=date)
    counted_on = ChecklistProgress.objects.get(migration=migration).counts_on
    with pytest.raises(ImproperlyConfigured, match="derived from an argument"):
        statement.update(migration_id=migration.pk, on=date(2026, 5, 1))
    assert ChecklistProgress.objects.get(migration=migration).counts_on == counted_on


def test_every_argument_must_be_given():
    statement = CompiledUpdate(ChecklistProgress, add_done, migration_id=int, done=int, on=date)
    with pytest.raises(TypeError):
        statement.update(migration_id=1, done=1)


def items_of(migration_id: int, due_from: date):
    return (
        ChecklistItem.objects.filter(migration_id=migration_id, due_on__gte=due_from)
        .select_related("phase", "owner", "migration__practice")
        .order_by("phase__position", "position")
    )


def item_rows(migration_id: int):
    return ChecklistItem.objects.filter(migration_id=migration_id).order_by("pk").values_list("pk", "status", "due_on")


def test_its_objects_are_the_querysets_with_what_it_selects_related(guide_version, django_assert_num_queries):
    first, second = make_migration(), make_migration()
    owner = UserFactory()
    first.items.filter(pk=first.items.order_by("-due_on", "pk").first().pk).update(owner=owner)
    statement = CompiledSelect(ChecklistItem, items_of, migration_id=int, due_from=date)
    owners = []
    for migration in (first, second, first):
        due_from = sorted({item.due_on for item in migration.items.all()})[2]
        expected = list(items_of(migration.pk, due_from))
        with django_assert_num_queries(1):
            found = statement.objects(migration_id=migration.pk, due_from=due_from)
            related = [(item.phase.title, item.owner, item.migration.practice.name) for item in found]
        assert 0 < len(found) < migration.items.count()
        assert [item.pk for item in found] == [item.pk for item in expected]
        assert related == [(item.phase.title, item.owner, item.migration.practice.name) for item in expected]
        assert [item.due_on for item in found] == [item.due_on for item in expected]
        owners.append({item.owner for item in found})
    assert owners == [{None, owner}, {None}, {None, owner}]
    assert statement.objects(migration_id=0, due_from=date(2026, 1, 1)) == []


def items_in_order(migration_id: int):
    return ChecklistItem.objects.filter(migration_id=migration_id).order_by("pk")


def fields_of(item) -> dict:
    return {field.attname: getattr(item, field.attname) for field in item._meta.concrete_fields}


def test_objects_of_the_model_alone_are_the_querysets_and_save_as_they_would(guide_version):
    migration = make_migration()
    statement = CompiledSelect(ChecklistItem, items_in_order, migration_id=int)

    found = statement.objects(migration_id=migration.pk)

    expected = list(items_in_order(migration.pk))
    assert [fields_of(item) for item in found] == [fields_of(item) for item in expected]
    first = found[0]
    assert first._state.adding is False and first._state.db == "default"
    assert first.phase == expected[0].phase  # a relation not selected is read when first used
    first.note = "Saved from a compiled read"
    first.save(update_fields=["note"])
    assert ChecklistItem.objects.get(pk=first.pk).note == "Saved from a compiled read"


def test_objects_are_made_by_init_when_the_model_has_init_receivers(guide_version):
    migration = make_migration()
    statement = CompiledSelect(ChecklistItem, items_in_order, migration_id=int)
    initialised = []

    def receiver(sender, instance, **kwargs):
        initialised.append(instance.pk)

    post_init.connect(receiver, sender=ChecklistItem)
    try:
        found = statement.objects(migration_id=migration.pk)
    finally:
        post_init.disconnect(receiver, sender=ChecklistItem)

    assert initialised == [item.pk for item in found] and len(found) > 100
    assert [fields_of(item) for item in found] == [fields_of(item) for item in items_in_order(migration.pk)]


def test_text_and_moments_are_arguments_too():
    moment = timezone.now()
    for key, hours in (("first-session-key", -1), ("second-session-key", 1), ("third-session-key", 30)):
        Session.objects.create(session_key=key, session_data="", expire_date=moment + timedelta(hours=hours))

    def alive(key: str, at: datetime):
        return Session.objects.filter(session_key=key, expire_date__gt=at).values_list("session_key")

    statement = CompiledSelect(Session, alive, key=str, at=datetime)
    for key in ("first-session-key", "second-session-key", "third-session-key", "no-such-key"):
        for at in (moment - timedelta(days=1), moment, moment + timedelta(days=1)):
            assert statement.rows(key=key, at=at) == list(alive(key, at))
    assert statement.rows(key="second-session-key", at=moment) == [("second-session-key",)]
    assert statement.rows(key="first-session-key", at=moment) == []
    assert statement.rows(key="third-session-key", at=moment + timedelta(days=1)) == [("third-session-key",)]
    assert statement.rows(key="third-session-key", at=moment + timedelta(days=2)) == []


def test_its_rows_are_the_values_lists_with_their_types(guide_version):
    migration = make_migration()
    migration.items.filter(pk=migration.items.order_by("pk").first().pk).update(
        status=ItemStatus.BLOCKED, reason="Waiting"
    )
    statement = CompiledSelect(ChecklistItem, item_rows, migration_id=int)
    found = statement.rows(migration_id=migration.pk)
    assert found == list(item_rows(migration.pk))
    assert found[0][1] == ItemStatus.BLOCKED
    assert any(isinstance(due_on, date) for _, _, due_on in found)


@pytest.mark.parametrize("beyond", [2**63, -(2**63) - 1, 10**20])
def test_an_id_beyond_the_databases_integers_matches_nothing(guide_version, beyond):
    # An address's <int:pk> takes any digits; SQLite would refuse such a number (OverflowError).
    migration = make_migration()
    select = CompiledSelect(ChecklistItem, item_rows, migration_id=int)
    update = CompiledUpdate(ChecklistProgress, add_done, migration_id=int, done=int, on=date)

    assert select.rows(migration_id=beyond) == []
    assert select.objects(migration_id=beyond) == []
    assert update.update(migration_id=beyond, done=1, on=date(2026, 1, 1)) == 0
    assert select.rows(migration_id=migration.pk)  # and the statement still runs with ids in range


def test_an_argument_without_a_value_is_refused(guide_version):
    """A comparison with None is IS NULL in the ORM's SQL: the written statement would match nothing."""
    statement = CompiledSelect(ChecklistItem, item_rows, migration_id=int)
    with pytest.raises(TypeError, match="without a value: migration_id"):
        statement.rows(migration_id=None)


@pytest.mark.django_db(transaction=True)
def test_locking_rows_outside_a_transaction_is_refused(guide_version):
    migration = make_migration()
    statement = CompiledSelect(
        ChecklistItem,
        lambda migration_id: ChecklistItem.objects.filter(migration_id=migration_id).select_for_update(),
        migration_id=int,
    )
    with transaction.atomic():
        assert len(statement.objects(migration_id=migration.pk)) == migration.items.count()
    with pytest.raises(TransactionManagementError):
        statement.objects(migration_id=migration.pk)


def test_a_select_with_a_value_derived_from_an_argument_is_refused(guide_version):
    migration = make_migration()
    statement = CompiledSelect(
        ChecklistItem,
        lambda migration_id, on: ChecklistItem.objects.filter(migration_id=migration_id, due_on__gte=on + timedelta(1)),
        migration_id=int,
        on=date,
    )
    with pytest.raises(ImproperlyConfigured, match="derived from an argument"):
        statement.objects(migration_id=migration.pk, on=date(2026, 5, 1))


# --- Remembered: statements kept by a key ------------------------------------------------------------


def test_a_remembered_statement_reads_the_rows_as_they_are_now(guide_version):
    first = make_migration()
    remembered = Remembered()

    def done_counts():
        return ChecklistProgress.objects.order_by("migration_id").values_list("migration_id", "items_done")

    assert remembered.rows("done", done_counts) == list(done_counts())
    second = make_migration()
    ChecklistProgress.objects.filter(migration=first).update(items_done=7)

    again = remembered.rows("done", done_counts)
    assert again == list(done_counts())
    assert dict(again)[first.pk] == 7 and second.pk in dict(again)
    assert remembered.rows("none", lambda: ChecklistProgress.objects.none().values_list("pk")) == []


def test_a_key_that_names_too_little_is_refused_when_checked(guide_version, settings):
    first, second = make_migration(), make_migration()
    remembered = Remembered()

    def progress_of(migration_id):
        return ChecklistProgress.objects.filter(migration_id=migration_id).values_list("migration_id")

    settings.CHECK_REMEMBERED_SQL = True
    assert remembered.rows("progress", lambda: progress_of(first.pk)) == [(first.pk,)]
    with pytest.raises(ImproperlyConfigured, match="names too little"):
        remembered.rows("progress", lambda: progress_of(second.pk))
    # Unchecked, the statement written for the key is run, as the check warns.
    settings.CHECK_REMEMBERED_SQL = False
    assert remembered.rows("progress", lambda: progress_of(second.pk)) == [(first.pk,)]


def test_only_the_keys_used_last_are_kept(guide_version, settings):
    settings.CHECK_REMEMBERED_SQL = False  # the check would write every statement again
    migration = make_migration()
    remembered = Remembered(size=2)
    written = []

    def counted(name):
        def write():
            written.append(name)
            return ChecklistProgress.objects.filter(migration=migration).values_list("migration_id")

        return write

    for name in ("a", "b", "a", "c", "a", "b"):
        assert remembered.rows(name, counted(name)) == [(migration.pk,)]
    # "a" stayed in use: "b" was dropped for "c", and written again.
    assert written == ["a", "b", "c", "b"]


# --- statements prepared on the server (PostgreSQL) ----------------------------------------------------

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares statements")


def prepared_on_the_server() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def session_statement() -> CompiledSelect:
    return CompiledSelect(
        Session, lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now), key=str, now=datetime
    )


@on_postgresql
def test_on_postgresql_a_statement_is_prepared_once_and_runs_as_prepared(guide_version):
    migration = make_migration()
    statement = CompiledUpdate(ChecklistProgress, add_done, migration_id=int, done=int, on=date)
    done = ChecklistProgress.objects.get(migration=migration).items_done

    with CaptureQueriesContext(connection) as first:
        assert statement.update(migration_id=migration.pk, done=2, on=date(2026, 5, 1)) == 1
    with CaptureQueriesContext(connection) as second:
        assert statement.update(migration_id=migration.pk, done=3, on=date(2026, 5, 2)) == 1

    assert statement._name in prepared_on_the_server()
    # Preparing it is not one of the connection's queries: a page's pinned count is the same on its first run.
    assert [query["sql"].split(" (")[0] for query in first.captured_queries + second.captured_queries] == [
        f"EXECUTE {statement._name}"
    ] * 2
    progress = ChecklistProgress.objects.get(migration=migration)
    assert (progress.items_done, progress.counts_on) == (done + 5, date(2026, 5, 2))


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_the_statement_again():
    statement = session_statement()
    key = Session.objects.create(session_key="k" * 32, session_data="", expire_date=timezone.now() + timedelta(days=1))
    assert [found.pk for found in statement.objects(key=key.pk, now=timezone.now())] == [key.pk]
    first = connection.connection

    # As after CONN_MAX_AGE, or a failed health check: the next query opens a new connection,
    # which has prepared nothing.
    connection.close()

    assert [found.pk for found in statement.objects(key=key.pk, now=timezone.now())] == [key.pk]
    assert connection.connection is not first
    assert statement._name in prepared_on_the_server()


@on_postgresql
def test_a_statement_the_server_will_not_prepare_runs_as_it_is_and_the_transaction_goes_on(guide_version, caplog):
    migration = make_migration()
    # A parameter the server cannot give a type: asked only whether it is null.
    statement = CompiledSelect(
        ChecklistProgress,
        lambda migration_id, label: (
            ChecklistProgress.objects.filter(migration_id=migration_id)
            .annotate(unset=RawSQL("%s IS NULL", (label,), output_field=BooleanField()))
            .values_list("migration_id", "unset")
        ),
        migration_id=int,
        label=str,
    )

    with transaction.atomic():
        assert statement.rows(migration_id=migration.pk, label="first") == [(migration.pk, False)]
        assert statement.rows(migration_id=migration.pk, label="second") == [(migration.pk, False)]
        ChecklistProgress.objects.filter(migration=migration).update(items_done=7)

    assert ChecklistProgress.objects.get(migration=migration).items_done == 7
    assert statement._name not in prepared_on_the_server()
    assert [record.message.split(":")[0] for record in caplog.records] == [
        f"Statement {statement._name} not prepared, run as it is"
    ]


def test_statements_are_not_prepared_when_the_setting_says_so(guide_version, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    migration = make_migration()
    statement = CompiledUpdate(ChecklistProgress, add_done, migration_id=int, done=int, on=date)

    with CaptureQueriesContext(connection) as captured:
        assert statement.update(migration_id=migration.pk, done=1, on=date(2026, 5, 1)) == 1

    assert captured.captured_queries[0]["sql"].startswith('UPDATE "migrations_app_checklistprogress"')
    if connection.vendor == "postgresql":
        assert statement._name not in prepared_on_the_server()


def prepared_text(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [name])
        return cursor.fetchone()[0]


@on_postgresql
def test_on_postgresql_the_constants_are_written_into_the_statement_and_only_the_arguments_are_parameters(
    guide_version,
):
    """A prepared statement is planned once for any values of its parameters: a constant left a
    parameter would hide from the planner that a partial index's condition holds (the open items'
    statuses of checklistitem_open_migration)."""
    migration = make_migration()
    statement = CompiledSelect(
        ChecklistItem,
        lambda migration_id, after: (
            ChecklistItem.objects.open()
            .filter(migration_id=migration_id, due_on__gt=after, title__contains="100%")
            .values_list("pk", flat=True)
        ),
        migration_id=int,
        after=date,
    )
    open_ones = migration.items.filter(status=ItemStatus.TO_DO)
    expected = sorted(open_ones.filter(due_on__gt=date(2025, 6, 1)).values_list("pk", flat=True))
    migration.items.filter(pk__in=expected[:2]).update(title="Done 100% of it")

    found = sorted(row[0] for row in statement.rows(migration_id=migration.pk, after=date(2025, 6, 1)))

    text = prepared_text(statement._name)
    assert "'to_do'" in text and "'blocked'" in text and "'%100\\%%'" in text
    assert "$1" in text and "$2" in text and "$3" not in text
    assert found == expected[:2]


def status_event(migration_id: int, item_id: int, actor_id: int, at: datetime, reason: str):
    return Event(
        migration_id=migration_id,
        item_id=item_id,
        actor_id=actor_id,
        at=at,
        kind=Event.Kind.STATUS,
        field="status",
        old_value="to_do",
        new_value="done",
        reason=reason,
    )


EVENT_COLUMNS = [field.attname for field in Event._meta.concrete_fields if field.attname != "id"]


def test_an_insert_adds_the_row_that_saving_the_object_adds(guide_version):
    migration = make_migration()
    item, person = migration.items.first(), UserFactory()
    statement = CompiledInsert(
        Event, status_event, migration_id=int, item_id=int, actor_id=int, at=datetime, reason=str
    )
    at = timezone.now().replace(microsecond=123456)
    values = {"migration_id": migration.pk, "item_id": item.pk, "actor_id": person.pk, "at": at}

    with CaptureQueriesContext(connection) as inserted:
        statement.insert(**values, reason="Checked with the supplier, 100% 'done'")
    status_event(**values, reason="Checked with the supplier, 100% 'done'").save()
    statement.insert(**values | {"at": at + timedelta(hours=1)}, reason="")

    rows = list(Event.objects.filter(item=item, kind=Event.Kind.STATUS).order_by("at", "pk").values(*EVENT_COLUMNS))
    assert len(inserted) == 1 and len(rows) == 3
    assert rows[0] == rows[1]
    assert rows[0]["reason"] == "Checked with the supplier, 100% 'done'" and rows[0]["at"] == at
    assert rows[0]["practice_id"] is None and rows[0]["field"] == "status"
    assert rows[2]["at"] == at + timedelta(hours=1) and rows[2]["reason"] == ""


@on_postgresql
def test_on_postgresql_an_insert_is_prepared_with_its_constants_written_in(guide_version):
    migration = make_migration()
    statement = CompiledInsert(
        Event, status_event, migration_id=int, item_id=int, actor_id=int, at=datetime, reason=str
    )
    statement.insert(
        migration_id=migration.pk,
        item_id=migration.items.first().pk,
        actor_id=UserFactory().pk,
        at=timezone.now(),
        reason="",
    )
    text = prepared_text(statement._name)
    assert "'status'" in text and "'to_do'" in text and "NULL" in text
    assert sorted(set(re.findall(r"\$\d+", text))) == ["$1", "$2", "$3", "$4", "$5"]
