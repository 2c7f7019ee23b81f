# Who marked a checklist item blocked or not applicable, and when (ChecklistItem.marked_by and
# marked_at): its row says so beside the reason, as a done item's says who did it. Items already
# blocked or not applicable take both from the event that gave them that status, the latest; one
# that has none (closed by its condition when its checklist was made) is left without.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

MARKED = ["blocked", "not_applicable"]


def from_the_event_log(apps, schema_editor) -> None:
    ChecklistItem = apps.get_model("migrations_app", "ChecklistItem")
    Event = apps.get_model("migrations_app", "Event")
    latest = Event.objects.filter(item_id=OuterRef("pk"), field="status", new_value=OuterRef("status")).order_by(
        "-at", "-pk"
    )
    ChecklistItem.objects.using(schema_editor.connection.alias).filter(status__in=MARKED).update(
        marked_by_id=Subquery(latest.values("actor_id")[:1]), marked_at=Subquery(latest.values("at")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0024_support_admins_correct_practices"),
    ]

    operations = [
        migrations.AddField(
            model_name="checklistitem",
            name="marked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="checklistitem",
            name="marked_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="checklistitem",
            index=models.Index(
                condition=models.Q(("marked_by__isnull", False)), fields=["marked_by"], name="checklistitem_marked_by"
            ),
        ),
        migrations.RunPython(from_the_event_log, migrations.RunPython.noop),
    ]
