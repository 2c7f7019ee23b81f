# Reviewed upgrades of a migration's checklist to a later template version.
#
# Written by hand: items and phases an upgrade drops after work on them are archived, not deleted,
# and the partial indexes the dashboard reads leave archived items out, so its overdue, next-due and
# done-ahead look-ups stay one range of an index read without the table.

import datetime

import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0006_template_editing"),
    ]

    operations = [
        migrations.AddField(
            model_name="checklistitem",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="migrationphase",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RemoveIndex(model_name="checklistitem", name="checklistitem_open_due"),
        migrations.RemoveIndex(model_name="checklistitem", name="checklistitem_open_migration"),
        migrations.RemoveIndex(model_name="checklistitem", name="checklistitem_done_due"),
        migrations.AddIndex(
            model_name="checklistitem",
            index=models.Index(
                condition=models.Q(("archived_at__isnull", True), ("status__in", ["to_do", "blocked"])),
                fields=["due_on"],
                include=("migration", "kind"),
                name="checklistitem_open_due",
            ),
        ),
        migrations.AddIndex(
            model_name="checklistitem",
            index=models.Index(
                condition=models.Q(("archived_at__isnull", True), ("status__in", ["to_do", "blocked"])),
                fields=["migration", "due_on"],
                name="checklistitem_open_migration",
            ),
        ),
        migrations.AddIndex(
            model_name="checklistitem",
            index=models.Index(
                django.db.models.functions.comparison.Coalesce("due_on", models.Value(datetime.date(9999, 12, 31))),
                models.F("migration"),
                condition=models.Q(("archived_at__isnull", True), ("status", "done")),
                name="checklistitem_done_due",
            ),
        ),
    ]
