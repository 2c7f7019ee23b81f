from migrations_app.models.api_tokens import ApiToken
from migrations_app.models.checkins import CheckIn
from migrations_app.models.checklist_items import ChecklistItem, ChecklistProgress, MigrationPhase
from migrations_app.models.checklist_templates import ChecklistTemplate, ItemTemplate, PhaseTemplate, TemplateVersion
from migrations_app.models.choices import Condition, ItemKind, ItemStatus, Milestone, Role
from migrations_app.models.events import Event
from migrations_app.models.imports import MigrationImport
from migrations_app.models.invitations import Invitation
from migrations_app.models.people import ICB, DeliveryPartner, Membership, Practice, Supplier, User
from migrations_app.models.practice_migrations import PracticeMigration
from migrations_app.models.reminders import Delivery, ReminderPreference
from migrations_app.models.retrospectives import Retrospective
from migrations_app.models.signin import SignInInFlight, SignInLock

__all__ = [
    "ICB",
    "ApiToken",
    "CheckIn",
    "ChecklistItem",
    "ChecklistProgress",
    "ChecklistTemplate",
    "Condition",
    "Delivery",
    "DeliveryPartner",
    "Event",
    "ItemKind",
    "ItemStatus",
    "Invitation",
    "ItemTemplate",
    "Membership",
    "Milestone",
    "MigrationImport",
    "MigrationPhase",
    "PhaseTemplate",
    "Practice",
    "PracticeMigration",
    "ReminderPreference",
    "Retrospective",
    "Role",
    "SignInInFlight",
    "SignInLock",
    "Supplier",
    "TemplateVersion",
    "User",
]
