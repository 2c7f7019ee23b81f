"""The append-only event log of a migration and its items: who changed what, when, from what to what.
Written by the model methods that make the changes; never edited (the admin shows it read-only)."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from migrations_app.models.choices import CheckInRag, Condition, ItemStatus, MigrationStatus, Milestone, Role

# How people read the field an event names: events store the model field's name (or the workflow's,
# as "membership"). A name not here reads as itself in words (Event.field_label).
FIELD_LABELS = {
    "status": "Status",
    "note": "Note",
    "due_on": "Due date",
    "owner": "Owner",
    "archived_at": "In the checklist",
    "project_manager": "Project manager",
    "source_supplier": "Current system",
    "target_supplier": "New system",
    "template_version": "Checklist version",
    "check_in_weekday": "Check-in day",
    "membership": "Membership",
    # A practice corrected in the administration (admin.PracticeAdmin: "practice_" and its field).
    "practice_name": "Practice name",
    "practice_ods_code": "ODS code",
    "practice_icb": "ICB",
    "practice_delivery_partner": "Delivery partner",
    "invitation": "Invitation",
    **{milestone.field_name: milestone.label for milestone in Milestone},
    **{condition.value: condition.label for condition in Condition},
    # A check-in is logged as "<side>_check_in" (CheckIn.give), a retrospective as the role of the side
    # that wrote it (Retrospective.write).
    "practice_check_in": "Practice check-in",
    "delivery_partner_check_in": "Delivery partner check-in",
    **{role.value: role.label for role in (Role.PRACTICE_MANAGER, Role.DELIVERY_PARTNER)},
    # An item's content an upgrade changed: the upgrade review (checklist_templates.upgrades) names it
    # so too.
    "title": "Title",
    "group": "Question",
    "guide_url": "Guide link",
    "responsible_role": "Responsible",
    "due_rule": "When it is due",
    "kind": "Kind",
    "condition": "Applies",
    "depends_on": "Waits for",
    "phase": "Phase",
    "order": "Order in its phase",
}


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The event log is append-only.")

    def delete(self):
        raise TypeError("The event log is append-only.")


# At module level, and named on the model as Event.Kind, for the model's constraints (as MigrationStatus).
class EventKind(models.TextChoices):
    CREATED = "created", "Migration created"
    STATUS = "status", "Status changed"
    NOTE = "note", "Note changed"
    DUE_DATE = "due_date", "Due date set"
    MILESTONE = "milestone", "Milestone changed"
    REPLAN = "replan", "Due date replanned"
    ATTRIBUTE = "attribute", "Attribute changed"
    SIGN_OFF = "sign_off", "Signed off"
    UPGRADE = "upgrade", "Checklist upgraded"
    MIGRATION_STATUS = "migration_status", "Migration status changed"
    OWNER = "owner", "Owner changed"
    PEOPLE = "people", "People changed"
    CHECK_IN = "check_in", "Check-in given"
    RETROSPECTIVE = "retrospective", "Retrospective written"


class Event(models.Model):
    """An append-only record of a change to a migration or one of its items."""

    Kind = EventKind

    # What the event is about: a migration (and maybe one of its items), or, for changes to who
    # belongs where (invitations, memberships), the organisation. The organisations are indexed
    # where set only: nearly every event is a migration's (each tick, each item a replan moves).
    migration = models.ForeignKey(
        "migrations_app.PracticeMigration", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    practice = models.ForeignKey(
        "migrations_app.Practice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    delivery_partner = models.ForeignKey(
        "migrations_app.DeliveryPartner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    icb = models.ForeignKey(
        "migrations_app.ICB",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    # Indexed by event_item_at (item, at).
    item = models.ForeignKey(
        "migrations_app.ChecklistItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system made the change.",
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(max_length=64, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.TextField(blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values),
                name="event_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(migration__isnull=False)
                | Q(practice__isnull=False)
                | Q(delivery_partner__isnull=False)
                | Q(icb__isnull=False),
                name="event_is_about_something",
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=True) | Q(migration__isnull=False), name="event_item_of_migration"
            ),
        ]
        indexes = [
            models.Index(fields=["item", "at"], name="event_item_at"),
            *(
                models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=f"event_{name}")
                for name in ("practice", "delivery_partner", "icb")
            ),
        ]

    def __str__(self) -> str:
        # In UK time, as the admin's fields and the pages show it.
        return f"{self.get_kind_display()} at {timezone.localtime(self.at):%-d %B %Y, %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError("The event log is append-only.")
        # force_insert: an object carrying an existing id must fail, never overwrite that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The event log is append-only.")

    def field_label(self) -> str:
        """The field as people read it: "Due date", not "due_on"."""
        return FIELD_LABELS.get(self.field) or self.field.replace("_", " ").capitalize()

    def old_display(self) -> str:
        return self._display(self.old_value)

    def new_display(self) -> str:
        return self._display(self.new_value)

    def _display(self, value: str) -> str:
        """Stored values are raw (a status key, an ISO date); people read labels and dates."""
        if self.field == "owner" and not value:
            return "anyone in the responsible role"  # no named owner (ChecklistItem.assign_owner)
        if not value:
            return "(empty)"
        if self.field == "status":
            # An item's status, or a migration's (held, resumed, completed, cancelled).
            for statuses in (ItemStatus, MigrationStatus):
                if value in statuses.values:
                    return statuses(value).label
        if self.field.endswith("_check_in") and value in CheckInRag.values:
            return CheckInRag(value).label
        if self.field.endswith("_on"):
            try:
                return date.fromisoformat(value).strftime("%-d %B %Y")
            except ValueError:
                return value
        return value
