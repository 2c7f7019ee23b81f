"""The database holds a migration's status transitions as well as the model (TRANSITIONS in
models/practice_migrations.py): a trigger refuses any other change of status, whoever writes it (a
script, a raw UPDATE, the admin). The pairs are written out here, as a migration must not read model
code that may change later; tests/test_lifecycle.py checks that they agree with TRANSITIONS."""

from django.db import migrations

TABLE = "migrations_app_practicemigration"
# (from, to): hold, resume, cancel (from in progress or on hold), complete, reopen a completed one.
ALLOWED = [
    ("active", "on_hold"),
    ("on_hold", "active"),
    ("active", "cancelled"),
    ("on_hold", "cancelled"),
    ("active", "completed"),
    ("completed", "active"),
]
TRIGGER = "practicemigration_status_transition"


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        pairs = ", ".join(f"('{old}', '{new}')" for old, new in ALLOWED)
        schema_editor.execute(
            f"""
            CREATE FUNCTION {TRIGGER}() RETURNS trigger AS $$
            BEGIN
                IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN ({pairs}) THEN
                    RAISE EXCEPTION 'A migration cannot go from % to %', OLD.status, NEW.status
                        USING ERRCODE = 'check_violation', CONSTRAINT = '{TRIGGER}';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
            """,
            params=None,  # no parameters: the "%" are PL/pgSQL's, not placeholders
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OF status ON {TABLE} FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
        )
    elif vendor == "sqlite":
        pairs = ", ".join(f"'{old}>{new}'" for old, new in ALLOWED)
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OF status ON {TABLE} "
            f"FOR EACH ROW WHEN NEW.status <> OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ({pairs}) "
            f"BEGIN SELECT RAISE(ABORT, '{TRIGGER}: a migration cannot go from that status to this one'); END"
        )
    else:
        raise NotImplementedError(
            f"No status-transition trigger for {vendor}: only PostgreSQL and SQLite are supported."
        )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    else:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [("migrations_app", "0013_import_delivery_partner")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
