"""Choice sets shared by templates and migrations."""

from django.db import models


class Role(models.TextChoices):
    PRACTICE_MANAGER = "practice_manager", "Practice manager"
    PRACTICE_STAFF = "practice_staff", "Practice staff"
    CLINICAL_LEAD = "clinical_lead", "Clinical lead"
    DELIVERY_PARTNER = "delivery_partner", "Delivery partner project manager"
    ICB_LEAD = "icb_lead", "ICB lead"


PRACTICE_ROLES = (Role.PRACTICE_MANAGER, Role.PRACTICE_STAFF, Role.CLINICAL_LEAD)


class Milestone(models.TextChoices):
    """The dates a migration hangs off. Each is a `<value>_on` field of PracticeMigration."""

    ORDER_ACCEPTED = "order_accepted", "Order accepted"
    KICK_OFF = "kick_off", "Kick-off"
    TECHNICAL_SURVEY = "technical_survey", "Technical survey"
    IDP = "idp", "Initial data production (IDP)"
    DATA_CHECKING_SIGNOFF = "data_checking_signoff", "Data-checking sign-off"
    CUTOVER_PLANNING = "cutover_planning", "Cutover planning meeting"
    FDP = "fdp", "Final data production (FDP)"
    GO_LIVE = "go_live", "Go-live"
    OLD_SYSTEM_ACCESS_END = "old_system_access_end", "Old system access ends"

    @property
    def field_name(self) -> str:
        return f"{self.value}_on"


class ItemKind(models.TextChoices):
    TASK = "task", "Task"
    GATE = "gate", "Sign-off gate"


class Condition(models.TextChoices):
    """Migration attributes that decide whether an item applies. Each is a boolean field."""

    DISPENSING_PRACTICE = "dispensing_practice", "Dispensing practice"
    NEW_HARDWARE_NEEDED = "new_hardware_needed", "Technical survey found new hardware is needed"
    USES_DOCUMENT_MANAGEMENT = "uses_document_management", "Uses a document management system"
    ELECTRONIC_REPEAT_DISPENSING = "electronic_repeat_dispensing", "Uses electronic repeat dispensing"
    OFFERS_ONLINE_SERVICES = "offers_online_services", "Offers patients online services"


class MigrationStatus(models.TextChoices):
    ACTIVE = "active", "In progress"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class ItemStatus(models.TextChoices):
    TO_DO = "to_do", "To do"
    DONE = "done", "Done"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    BLOCKED = "blocked", "Blocked"


OPEN_STATUSES = (ItemStatus.TO_DO, ItemStatus.BLOCKED)


class Weekday(models.IntegerChoices):
    """The working day of the week a delivery partner's migrations hold their weekly check-in on
    (Python's date.weekday() numbers)."""

    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"


class CheckInRag(models.TextChoices):
    """A check-in's self-assessment: how the person giving it sees the migration this week."""

    RED = "red", "Red"
    AMBER = "amber", "Amber"
    GREEN = "green", "Green"


class CheckInSide(models.TextChoices):
    """Who gives a weekly check-in: each side gives its own."""

    PRACTICE = "practice", "Practice manager"
    DELIVERY_PARTNER = "delivery_partner", "Delivery partner's project manager"
