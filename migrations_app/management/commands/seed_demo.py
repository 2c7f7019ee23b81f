"""Demo data for trying the product: one delivery partner, two ICBs, practices at every stage."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models import Min
from django.utils import timezone

from migrations_app.models import (
    ICB,
    CheckIn,
    ChecklistItem,
    ChecklistProgress,
    DeliveryPartner,
    Event,
    ItemStatus,
    Membership,
    Practice,
    PracticeMigration,
    Retrospective,
    Role,
    Supplier,
    TemplateVersion,
    User,
)
from migrations_app.working_days import is_working_day, next_working_day

DEMO_PASSWORD = "demo-password-not-for-real-use"
DEMO_DOMAIN = "demo.migration-tracker.localhost"

SUPPLIERS = [
    ("EMIS Health", "EMIS Web"),
    ("TPP", "SystmOne"),
    ("Cegedim", "Vision"),
    ("Medicus Health", "Medicus"),
]


@dataclass(frozen=True)
class DemoPractice:
    ods_code: str
    name: str
    icb: int
    stage: str
    # Days from today for each milestone; None = not agreed yet.
    offsets: dict
    source: str = "EMIS Web"
    target: str = "SystmOne"
    tick_past_items: bool = True
    dispensing: bool = False
    # Started from the guide's first edition, so that the delivery partner can try the reviewed upgrade.
    first_edition: bool = False


def _milestones(go_live: int, *, known: tuple = ()) -> dict:
    """A guide-shaped plan around go-live, in days from today."""
    plan = {
        "order_accepted": go_live - 98,
        "kick_off": go_live - 91,
        "technical_survey": go_live - 87,
        "idp": go_live - 56,
        "data_checking_signoff": go_live - 38,
        "cutover_planning": go_live - 35,
        "fdp": go_live - 3,
        "go_live": go_live,
        "old_system_access_end": go_live + 90,
    }
    return {key: value for key, value in plan.items() if not known or key in known}


PRACTICES = [
    DemoPractice(
        "Y90001",
        "Riverside Surgery",
        0,
        "just ordered",
        _milestones(95, known=("order_accepted", "kick_off", "go_live")),
    ),
    DemoPractice(
        "Y90002",
        "Hillview Medical Centre",
        0,
        "pre-migration, older checklist",
        _milestones(70),
        target="Medicus",
        first_edition=True,
    ),
    DemoPractice("Y90003", "Old Mill Health Centre", 0, "data checking", _milestones(40), dispensing=True),
    DemoPractice(
        "Y90004", "Castle Street Practice", 1, "cutover", _milestones(2), source="SystmOne", target="EMIS Web"
    ),
    DemoPractice("Y90005", "Meadowbank Surgery", 1, "live", _milestones(-20), source="Vision"),
    DemoPractice("Y90006", "Harbour Lane Family Practice", 1, "many overdue", _milestones(12), tick_past_items=False),
]

# The live practice's retrospectives, so that the Lessons page has something to show: each side's
# verdicts (the areas not named went well), comments and lesson.
RETROSPECTIVES = {
    "Y90005": {
        Role.PRACTICE_MANAGER: (
            {"training": "did_not_go_well", "supplier": "not_applicable"},
            {"training": "Half the reception team missed the sessions: they were booked on clinic mornings."},
            "Book training for the afternoons and two weeks before go-live, with a catch-up session after it.",
        ),
        Role.DELIVERY_PARTNER: (
            {"third_parties": "did_not_go_well"},
            {"third_parties": "The pharmacy's repeat dispensing link was switched back on two days late."},
            "Ring every third party the day before cutover as well as a week before: e-mails were missed.",
        ),
    }
}

# Weekly check-ins (models/checkins.py), oldest first: days ago, whose, RAG status and note. Riverside
# was just ordered (none due yet); Harbour Lane's last was 12 days ago, so its check-in is missed.
CHECK_INS = {
    "Y90002": [
        (9, "practice", "green", "Practice profile and contacts agreed with the new supplier."),
        (8, "delivery_partner", "green", "Technical survey booked; no hardware expected."),
        (2, "practice", "amber", "Clean-up of duplicate records is slower than planned: two staff off sick."),
        (1, "delivery_partner", "green", "Extract request sent to the current supplier."),
    ],
    "Y90003": [
        (7, "practice", "green", "First round of data checking under way."),
        (1, "practice", "amber", "Dispensary stock figures do not match between the systems."),
        (1, "delivery_partner", "red", "Dispensing module not in the IDP extract: need the supplier to re-run it."),
    ],
    "Y90004": [
        (6, "delivery_partner", "green", "Cutover plan agreed; third parties told."),
        (0, "practice", "green", "Inboxes cleared to zero; registrations paused for the cutover."),
    ],
    "Y90005": [
        (8, "practice", "green", "Live: re-entering appointments booked during the cutover."),
        (3, "delivery_partner", "green", "Old system read-only access confirmed for 90 days."),
    ],
    "Y90006": [
        (19, "delivery_partner", "amber", "Cutover planning meeting moved twice."),
        (12, "practice", "amber", "Many checklist items still open; practice manager on leave next week."),
    ],
}

# Practices the demo delivery partner supports with no migration yet: for "Start a migration" and imports.
WAITING_PRACTICES = [("Y90007", "Beacon Road Surgery", 0), ("Y90008", "Quayside Health Centre", 1)]


class Command(BaseCommand):
    help = "Create demo organisations, users and migrations at different stages (safe to run again)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo data is for development only; DJANGO_DEBUG is off.")
        if not TemplateVersion.objects.published().exists():
            raise CommandError("No published checklist: run `manage.py load_guide` first.")
        if DeliveryPartner.objects.filter(name__endswith="(demo)").exists():
            self.stdout.write("Demo data is already loaded.")
        else:
            with transaction.atomic():
                self._create()
            self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_logins()

    def _create(self) -> None:
        today = timezone.localdate()
        partner = DeliveryPartner.objects.create(name="Northern Commissioning Support Unit (demo)")
        icbs = [
            ICB.objects.create(code="QX1", name="NHS Riverside and Hills ICB (demo)"),
            ICB.objects.create(code="QX2", name="NHS Coast and Castle ICB (demo)"),
        ]
        suppliers = {
            system: Supplier.objects.get_or_create(name=name, defaults={"system_name": system})[0]
            for name, system in SUPPLIERS
        }
        admin = User.objects.create_superuser(f"admin@{DEMO_DOMAIN}", DEMO_PASSWORD, full_name="Alex Admin")
        editor = _user("editor", "Tess Editor")
        editor.is_staff = True
        editor.save(update_fields=["is_staff"])
        editor.groups.add(Group.objects.get(name="Template editors"))
        # Staff scoped by what they do (migrations_app/access.py, groups from migration 0010).
        _user("national", "Nadia National").groups.add(Group.objects.get(name="National viewers"))
        support = _user("support", "Sol Support")
        support.is_staff = True
        support.save(update_fields=["is_staff"])
        support.groups.add(Group.objects.get(name="Support admins"))
        partner_user = _user("dp", "Devi Partner")
        Membership.objects.create(user=partner_user, role=Role.DELIVERY_PARTNER, delivery_partner=partner)
        icb_users = [_user(f"icb{number}", f"Imran ICB {number}") for number in range(1, len(icbs) + 1)]
        for icb_user, icb in zip(icb_users, icbs, strict=True):
            Membership.objects.create(user=icb_user, role=Role.ICB_LEAD, icb=icb)
        first_edition = (
            TemplateVersion.objects.published().filter(template__slug="practice-migration", number=1).first()
        )
        for spec in PRACTICES:
            practice = Practice.objects.create(
                ods_code=spec.ods_code, name=spec.name, icb=icbs[spec.icb], delivery_partner=partner
            )
            slug = spec.ods_code.lower()
            manager = _user(f"{slug}.manager", f"{spec.name} manager")
            Membership.objects.create(user=manager, role=Role.PRACTICE_MANAGER, practice=practice)
            staff = _user(f"{slug}.staff", f"{spec.name} staff")
            Membership.objects.create(user=staff, role=Role.PRACTICE_STAFF, practice=practice)
            clinician = _user(f"{slug}.clinician", f"{spec.name} clinical lead")
            Membership.objects.create(user=clinician, role=Role.CLINICAL_LEAD, practice=practice)
            # Who works each role's items: the gates are signed by the role the guide names.
            people = {
                Role.PRACTICE_MANAGER: manager,
                Role.PRACTICE_STAFF: staff,
                Role.CLINICAL_LEAD: clinician,
                Role.DELIVERY_PARTNER: partner_user,
                Role.ICB_LEAD: icb_users[spec.icb],
            }
            migration = PracticeMigration.start(
                practice=practice,
                source_supplier=suppliers[spec.source],
                target_supplier=suppliers[spec.target],
                created_by=admin,
                project_manager=partner_user,
                dispensing_practice=spec.dispensing,
                template_version=first_edition if spec.first_edition else None,
                **{f"{key}_on": _working_day(today + timedelta(days=days)) for key, days in spec.offsets.items()},
            )
            # Each demo migration has been tracked here since its first item fell due, as one started
            # on time is: not added part way through (Checklist.overdue_before_added).
            first_due = migration.items.aggregate(first=Min("due_on"))["first"]
            if first_due is not None and first_due < today:
                added = timezone.make_aware(datetime.combine(first_due, time(9)))
                PracticeMigration.objects.filter(pk=migration.pk).update(created_at=added)
                migration.created_at = added
                # Its day figures, counted when it started, left out the gates due before "today"
                # as catching up (checklist_items.catching_up): counted again from the day it now has.
                ChecklistProgress.count_day(today, [migration.pk])
            if spec.tick_past_items:
                _tick_items_due_before(migration, today, people)
            for days_ago, side, rag, note in CHECK_INS.get(spec.ods_code, []):
                who = manager if side == CheckIn.Side.PRACTICE else partner_user
                at = timezone.now() - timedelta(days=days_ago)
                CheckIn.give(migration, side=side, rag=rag, note=note, by=who, at=at)
            for role, (verdicts, comments, lesson) in RETROSPECTIVES.get(spec.ods_code, {}).items():
                Retrospective.write(
                    migration,
                    role,
                    by=people[role],
                    verdicts={area: verdicts.get(area, "went_well") for area in Retrospective.Area.values},
                    comments=comments,
                    lesson=lesson,
                )
        for ods_code, name, icb in WAITING_PRACTICES:
            Practice.objects.create(ods_code=ods_code, name=name, icb=icbs[icb], delivery_partner=partner)

    def _print_logins(self) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        rows = [
            ("Admin (staff)", f"admin@{DEMO_DOMAIN}"),
            ("Template editor (staff)", f"editor@{DEMO_DOMAIN}"),
            ("Support admin (staff)", f"support@{DEMO_DOMAIN}"),
            ("National viewer (NHS England)", f"national@{DEMO_DOMAIN}"),
            ("Delivery partner", f"dp@{DEMO_DOMAIN}"),
            ("ICB lead", f"icb1@{DEMO_DOMAIN}"),
        ]
        for spec in PRACTICES:
            slug = spec.ods_code.lower()
            rows += [
                (f"{spec.name} ({spec.stage}): practice manager", f"{slug}.manager@{DEMO_DOMAIN}"),
                (f"{spec.name}: practice staff", f"{slug}.staff@{DEMO_DOMAIN}"),
                (f"{spec.name}: clinical lead", f"{slug}.clinician@{DEMO_DOMAIN}"),
            ]
        width = max(len(label) for label, _ in rows)
        for label, email in rows:
            self.stdout.write(f"  {label.ljust(width)}  {email}")


def _user(local_part: str, full_name: str) -> User:
    return User.objects.create_user(f"{local_part}@{DEMO_DOMAIN}", DEMO_PASSWORD, full_name=full_name)


def _working_day(day: date) -> date:
    """The demo's milestones fall on working days, as people agree them (the next one after a weekend)."""
    return day if is_working_day(day) else next_working_day(day)


def _tick_items_due_before(migration: PracticeMigration, today: date, people: dict[str, User]) -> None:
    """Work the checklist as a tidy practice would have: everything due before today is done, each
    item by someone in its role, so each gate is signed by the role that signs it."""
    for item in migration.items.filter(status=ItemStatus.TO_DO, due_on__lt=today).order_by("due_on", "pk"):
        by = people[item.responsible_role]
        started = timezone.now()
        if item.is_gate:
            waiting = item.open_dependencies().exists()
            item.sign_off(by, override_reason="Demo data: signed off when due." if waiting else "")
        else:
            item.complete(by)
        # Done on the day it fell due, as the story has it, not when the demo was made: the record
        # and the item's history then read in order (a gate signed before go-live, not after it).
        when = timezone.make_aware(datetime.combine(item.due_on, time(10)))
        ChecklistItem.objects.filter(pk=item.pk).update(completed_at=when)
        # The event log is append-only for the product; demo data is written as if it had happened.
        models.QuerySet.update(Event.objects.filter(migration=migration, at__gte=started), at=when)
