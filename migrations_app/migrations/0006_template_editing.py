# Template editing: drafts, published versions frozen in the database, the Template editors group.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0005_dashboard_indexes"),
    ]

    operations = []
