# Support admins correct a practice's details (its name, ODS code, ICB or delivery partner) in the
# Django admin: a practice typed wrongly when its migration was started, or one that moved to another
# ICB, is theirs to put right (migrations_app/admin.py PracticeAdmin writes each change to the event
# log). They still add and delete no practice.

from django.db import migrations

ADDED = {"Support admins": ["change_practice"]}


def _permissions(apps, schema_editor, *, add: bool) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    alias = schema_editor.connection.alias
    for name, codenames in ADDED.items():
        group = Group.objects.using(alias).filter(name=name).first()
        if group is None:
            continue
        permissions = Permission.objects.using(alias).filter(
            content_type__app_label="migrations_app", codename__in=codenames
        )
        (group.permissions.add if add else group.permissions.remove)(*permissions)


def add_permissions(apps, schema_editor) -> None:
    _permissions(apps, schema_editor, add=True)


def remove_permissions(apps, schema_editor) -> None:
    _permissions(apps, schema_editor, add=False)


class Migration(migrations.Migration):
    dependencies = [("migrations_app", "0023_systems_pair_index")]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
