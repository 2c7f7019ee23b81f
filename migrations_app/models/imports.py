"""An uploaded order-tracker file, kept between its preview and its confirmation (the preview saves
nothing else), and afterwards as the record of what was applied, by whom and when."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class MigrationImport(models.Model):
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Whose order tracker it is: new practices in the file get this delivery partner, and rows for
    # practices another one supports are refused. Chosen on upload by people with more than one
    # (support admins); empty only on imports uploaded before it was kept.
    delivery_partner = models.ForeignKey(
        "migrations_app.DeliveryPartner", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField(default=0)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What applying it did: "3 new, 2 updated, 40 unchanged".
    outcome = models.CharField(max_length=200, blank=True)
    # And to each row: its number (as a string) -> "new", "update" or "unchanged", for its page to
    # say afterwards (importing.preview); empty before it is applied, and on imports applied before
    # it was kept.
    row_kinds = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(applied_at__isnull=True, applied_by__isnull=True)
                | Q(applied_at__isnull=False, applied_by__isnull=False),
                name="migrationimport_applied_has_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"
