# Staff are scoped by what they do (migrations_app/access.py), through two more groups beside
# "Template editors":
#
# - National viewers (NHS England, a commissioning team): read every migration and the national
#   dashboard, change nothing. Reading every migration is the view permission on practice migrations.
# - Support admins: act on every migration, as a delivery partner would, with the same audit trail.
#   Acting on every migration is the change permission on practice migrations. In the Django admin
#   they may also look at items, the event log and reminder e-mails, and send failed e-mails again;
#   they have no rights on people, so they cannot grant themselves more.

from django.db import migrations

NATIONAL_VIEWER_PERMISSIONS = ["view_practicemigration"]
SUPPORT_ADMIN_PERMISSIONS = [
    "view_practicemigration",
    "change_practicemigration",
    "view_checklistitem",
    "view_event",
    "view_delivery",
    "change_delivery",
    "view_practice",
]
GROUPS = {"National viewers": NATIONAL_VIEWER_PERMISSIONS, "Support admins": SUPPORT_ADMIN_PERMISSIONS}


def create_groups(apps, schema_editor) -> None:
    from django.contrib.auth.management import create_permissions

    # As in 0006: on a new database the permissions do not exist yet at this point.
    app_config = apps.get_app_config("migrations_app")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    alias = schema_editor.connection.alias
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.using(alias).get_or_create(name=name)
        group.permissions.set(
            Permission.objects.using(alias).filter(content_type__app_label="migrations_app", codename__in=codenames)
        )


def delete_groups(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0009_sign_ins_in_flight"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
