# Reviewed upgrades of a migration's checklist to a later template version.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0006_template_editing"),
    ]

    operations = []
