from migrations_app.models.choices import Condition, ItemKind, ItemStatus, Milestone, Role
from migrations_app.models.migrations import ChecklistItem, Event, MigrationPhase, PracticeMigration
from migrations_app.models.people import ICB, DeliveryPartner, Membership, Practice, Supplier, User
from migrations_app.models.templates import ChecklistTemplate, ItemTemplate, PhaseTemplate, TemplateVersion

__all__ = [
    "ICB",
    "ChecklistItem",
    "ChecklistTemplate",
    "Condition",
    "DeliveryPartner",
    "Event",
    "ItemKind",
    "ItemStatus",
    "ItemTemplate",
    "Membership",
    "Milestone",
    "MigrationPhase",
    "PhaseTemplate",
    "Practice",
    "PracticeMigration",
    "Role",
    "Supplier",
    "TemplateVersion",
    "User",
]
