# Template editing: drafts, published versions frozen in the database, the Template editors group.
#
# Written by hand (not by makemigrations): a revision number on versions for editors' optimistic
# locking; triggers that refuse any change to a published version, its phases and its items,
# whoever sends the SQL; and the "Template editors" group.
#
# SQLite rebuilds a table to alter it (copy, drop, rename), which drops its triggers: a later
# migration that alters one of these three tables on SQLite must create them again. The tests
# that send raw SQL to published rows (tests/test_template_versions.py) fail if they are missing.

from django.db import migrations, models

MESSAGE = "A published template version cannot be changed. Make a new draft instead."

POSTGRESQL_FORWARD = f"""
CREATE FUNCTION migrations_app_refuse_frozen_template() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER templateversion_frozen
    BEFORE UPDATE OR DELETE ON migrations_app_templateversion
    FOR EACH ROW WHEN (OLD.status = 'published')
    EXECUTE FUNCTION migrations_app_refuse_frozen_template();

CREATE FUNCTION migrations_app_phasetemplate_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    version_ids bigint[] := '{{}}';
BEGIN
    IF TG_OP <> 'DELETE' THEN version_ids := version_ids || NEW.version_id; END IF;
    IF TG_OP <> 'INSERT' THEN version_ids := version_ids || OLD.version_id; END IF;
    IF EXISTS (
        SELECT 1 FROM migrations_app_templateversion
        WHERE id = ANY (version_ids) AND status = 'published'
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER phasetemplate_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON migrations_app_phasetemplate
    FOR EACH ROW EXECUTE FUNCTION migrations_app_phasetemplate_frozen();

CREATE FUNCTION migrations_app_itemtemplate_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    phase_ids bigint[] := '{{}}';
BEGIN
    IF TG_OP <> 'DELETE' THEN phase_ids := phase_ids || NEW.phase_id; END IF;
    IF TG_OP <> 'INSERT' THEN phase_ids := phase_ids || OLD.phase_id; END IF;
    IF EXISTS (
        SELECT 1 FROM migrations_app_phasetemplate phase
        JOIN migrations_app_templateversion version ON version.id = phase.version_id
        WHERE phase.id = ANY (phase_ids) AND version.status = 'published'
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER itemtemplate_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON migrations_app_itemtemplate
    FOR EACH ROW EXECUTE FUNCTION migrations_app_itemtemplate_frozen();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER itemtemplate_frozen ON migrations_app_itemtemplate;
DROP FUNCTION migrations_app_itemtemplate_frozen();
DROP TRIGGER phasetemplate_frozen ON migrations_app_phasetemplate;
DROP FUNCTION migrations_app_phasetemplate_frozen();
DROP TRIGGER templateversion_frozen ON migrations_app_templateversion;
DROP FUNCTION migrations_app_refuse_frozen_template();
"""

# SQLite has no trigger functions: one trigger per table and operation, each raising when the row
# (before or after the change) belongs to a published version. RAISE(ABORT) fails the statement
# with SQLITE_CONSTRAINT, which Django reports as IntegrityError, like PostgreSQL's restrict_violation.
# The names all start "template_frozen_": the flush command (management/commands/flush.py) lifts
# them while it empties the database.
SQLITE_PUBLISHED_VERSION = "SELECT 1 FROM migrations_app_templateversion WHERE status = 'published' AND id IN ({})"
SQLITE_PUBLISHED_PHASE = (
    "SELECT 1 FROM migrations_app_phasetemplate phase"
    " JOIN migrations_app_templateversion version ON version.id = phase.version_id"
    " WHERE version.status = 'published' AND phase.id IN ({})"
)
SQLITE_TRIGGERS = {
    "template_frozen_version_update": ("UPDATE", "migrations_app_templateversion", "OLD.status = 'published'"),
    "template_frozen_version_delete": ("DELETE", "migrations_app_templateversion", "OLD.status = 'published'"),
    "template_frozen_phase_insert": (
        "INSERT",
        "migrations_app_phasetemplate",
        f"EXISTS ({SQLITE_PUBLISHED_VERSION.format('NEW.version_id')})",
    ),
    "template_frozen_phase_update": (
        "UPDATE",
        "migrations_app_phasetemplate",
        f"EXISTS ({SQLITE_PUBLISHED_VERSION.format('OLD.version_id, NEW.version_id')})",
    ),
    "template_frozen_phase_delete": (
        "DELETE",
        "migrations_app_phasetemplate",
        f"EXISTS ({SQLITE_PUBLISHED_VERSION.format('OLD.version_id')})",
    ),
    "template_frozen_item_insert": (
        "INSERT",
        "migrations_app_itemtemplate",
        f"EXISTS ({SQLITE_PUBLISHED_PHASE.format('NEW.phase_id')})",
    ),
    "template_frozen_item_update": (
        "UPDATE",
        "migrations_app_itemtemplate",
        f"EXISTS ({SQLITE_PUBLISHED_PHASE.format('OLD.phase_id, NEW.phase_id')})",
    ),
    "template_frozen_item_delete": (
        "DELETE",
        "migrations_app_itemtemplate",
        f"EXISTS ({SQLITE_PUBLISHED_PHASE.format('OLD.phase_id')})",
    ),
}


def create_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for name, (operation, table, condition) in SQLITE_TRIGGERS.items():
            schema_editor.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW WHEN {condition} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def drop_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER {name}")


# Exactly what editing templates needs: drafts (add from a copy or an import, change, delete,
# publish), their phases and items, and the list of templates. Nothing on migrations or people.
TEMPLATE_EDITOR_PERMISSIONS = [
    "view_checklisttemplate",
    "view_templateversion",
    "add_templateversion",
    "change_templateversion",
    "delete_templateversion",
    "view_phasetemplate",
    "add_phasetemplate",
    "change_phasetemplate",
    "delete_phasetemplate",
    "view_itemtemplate",
    "add_itemtemplate",
    "change_itemtemplate",
    "delete_itemtemplate",
]


def create_template_editors(apps, schema_editor) -> None:
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after `migrate` finishes; on a new database they do not
    # exist yet at this point, so create them now (it skips those that exist).
    app_config = apps.get_app_config("migrations_app")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(schema_editor.connection.alias).get_or_create(name="Template editors")
    group.permissions.set(
        Permission.objects.using(schema_editor.connection.alias).filter(
            content_type__app_label="migrations_app", codename__in=TEMPLATE_EDITOR_PERMISSIONS
        )
    )


def delete_template_editors(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name="Template editors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0005_dashboard_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="templateversion",
            name="revision",
            field=models.PositiveIntegerField(default=1, editable=False),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(create_template_editors, delete_template_editors),
    ]
