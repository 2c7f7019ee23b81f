"""Build a national-scale data set for benchmarks: 7,000 migrations across 42 ICBs and 10
delivery partners, each with the guide's checklist (about 110 items), worked as real practices
would have worked them by today, with an event per change.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/national_data.py

With --ten-times, ten times the country: 70,000 migrations across 420 ICBs and 100 delivery
partners, so that an ICB and a delivery partner see as many migrations as in the first set and only
the national view grows (bench/dashboard.py compares the two). About 8 million items and 6 GB;
build it in a database of its own, as BENCH_TEN_TIMES_DATABASE_URL in the Makefile names:

    createdb -h 127.0.0.1 -U postgres tracker_bench_x10
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench_x10 \\
        .venv/bin/python bench/national_data.py --ten-times

Runs migrate and load_guide first. A second run with the same size reuses what is there.
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Development settings, asked for as `make bench` does (production, the default, needs a secret key).
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from migrations_app import scheduling  # noqa: E402
from migrations_app.models import (  # noqa: E402
    ICB,
    ChecklistItem,
    ChecklistProgress,
    DeliveryPartner,
    Event,
    ItemStatus,
    Membership,
    MigrationPhase,
    Practice,
    PracticeMigration,
    Role,
    Supplier,
    TemplateVersion,
    User,
)
from migrations_app.tasks import count_day  # noqa: E402

SUPPLIERS = [("EMIS Health", "EMIS Web"), ("TPP", "SystmOne"), ("Cegedim", "Vision"), ("Medicus Health", "Medicus")]
BENCH_PASSWORD = "bench-password-not-for-real-use"


def build(migrations: int = 7000, icbs: int = 42, partners: int = 10, seed: int = 7) -> dict:
    """Create the data set unless one of this size exists; return the users to measure with."""
    call_command("migrate", verbosity=0)
    call_command("load_guide", verbosity=0)
    if PracticeMigration.objects.count() >= migrations:
        # A set built on an earlier day: its figures for today counted, as the worker's quarter-hourly
        # task would have (count_day), or every page would count them itself.
        counted = count_day()
        if counted:
            print(f"Counted today's figures of {counted:,} migrations (the task count_day)", flush=True)
        return _personas()
    if PracticeMigration.objects.exists():
        raise SystemExit("The bench database holds a different data set: drop it and run again.")
    with connection.cursor() as cursor:
        # Bench data only: not waiting for each commit to reach the disk makes the build several times faster.
        cursor.execute("SET synchronous_commit TO OFF")
    random_source = random.Random(seed)
    started = time.perf_counter()
    version = TemplateVersion.objects.published().order_by("-number").first()
    template_items = list(version.items())
    template_phases = list(version.phases.order_by("position"))
    suppliers = [Supplier.objects.get_or_create(name=n, defaults={"system_name": s})[0] for n, s in SUPPLIERS]
    today = timezone.localdate()
    with transaction.atomic():
        icb_rows = ICB.objects.bulk_create(
            ICB(code=f"Q{number:02d}B", name=f"NHS Bench Integrated Care Board {number:02d}") for number in range(icbs)
        )
        partner_rows = DeliveryPartner.objects.bulk_create(
            DeliveryPartner(name=f"Bench Commissioning Support Unit {number:02d}") for number in range(partners)
        )
        practices = Practice.objects.bulk_create(
            Practice(
                ods_code=f"B{number:05d}",
                name=f"Bench Practice {number:05d}",
                icb=icb_rows[number % icbs],
                delivery_partner=partner_rows[number % partners],
            )
            for number in range(migrations)
        )
        admin = User.objects.create_superuser("bench.admin@bench.localhost", BENCH_PASSWORD, full_name="Bench Admin")
        partner_user = User.objects.create_user("bench.dp@bench.localhost", BENCH_PASSWORD, full_name="Bench DP")
        Membership.objects.create(user=partner_user, role=Role.DELIVERY_PARTNER, delivery_partner=partner_rows[0])
        icb_user = User.objects.create_user("bench.icb@bench.localhost", BENCH_PASSWORD, full_name="Bench ICB")
        Membership.objects.create(user=icb_user, role=Role.ICB_LEAD, icb=icb_rows[0])
        managers = User.objects.bulk_create(
            User(
                email=f"manager.{practice.ods_code.lower()}@bench.localhost",
                full_name=f"Manager {practice.ods_code}",
                password=admin.password,
            )
            for practice in practices
        )
        Membership.objects.bulk_create(
            Membership(user=manager, role=Role.PRACTICE_MANAGER, practice=practice)
            for manager, practice in zip(managers, practices, strict=True)
        )
    print(f"organisations and people: {time.perf_counter() - started:.1f}s", flush=True)

    batch = 250
    for start in range(0, migrations, batch):
        with transaction.atomic():
            _build_batch(
                practices[start : start + batch],
                managers[start : start + batch],
                version,
                template_phases,
                template_items,
                suppliers,
                today,
                random_source,
                admin,
            )
        print(f"  {min(start + batch, migrations)} migrations ({time.perf_counter() - started:.0f}s)", flush=True)
    # Items were bulk-created, not through instantiate(): count each migration's done and applicable
    # items, and its figures for today (overdue, done ahead, next due).
    ChecklistProgress.recount()
    print(f"  counted ({time.perf_counter() - started:.0f}s)", flush=True)
    # VACUUM as well as ANALYZE: index-only scans (the dashboard's overdue counts) need the
    # visibility map that VACUUM sets; on a set just built they read the table until autovacuum
    # comes round, which made the delivery partner's page twice as slow in the first measurements.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return _personas()


def _build_batch(practices, managers, version, template_phases, template_items, suppliers, today, rnd, admin):
    migrations = []
    for practice in practices:
        go_live = today + timedelta(days=rnd.randint(-120, 160))
        source, target = rnd.sample(suppliers, 2)
        migrations.append(
            PracticeMigration(
                practice=practice,
                source_supplier=source,
                target_supplier=target,
                template_version=version,
                order_accepted_on=go_live - timedelta(days=98),
                kick_off_on=go_live - timedelta(days=91),
                technical_survey_on=go_live - timedelta(days=87),
                idp_on=go_live - timedelta(days=56),
                data_checking_signoff_on=go_live - timedelta(days=38),
                cutover_planning_on=go_live - timedelta(days=35),
                fdp_on=go_live - timedelta(days=rnd.choice((3, 3, 4, 7, 14))),
                go_live_on=go_live,
                old_system_access_end_on=go_live + timedelta(days=90),
                dispensing_practice=rnd.random() < 0.1,
                created_by=admin,
                status=PracticeMigration.Status.ACTIVE,
            )
        )
    PracticeMigration.objects.bulk_create(migrations)
    phases = MigrationPhase.objects.bulk_create(
        MigrationPhase(migration=migration, key=phase.key, title=phase.title, position=phase.position)
        for migration in migrations
        for phase in template_phases
    )
    phase_ids = {(phase.migration_id, phase.key): phase.pk for phase in phases}
    now = timezone.now()
    items, events = [], []
    for migration, manager in zip(migrations, managers, strict=True):
        dates = migration.milestone_dates()
        # A slipping practice leaves more of what is due undone.
        diligence = rnd.choice((0.97, 0.95, 0.9, 0.9, 0.8, 0.6))
        for template in template_items:
            due_on = scheduling.due_date(dates, template.anchor, template.offset_days)
            item = ChecklistItem(
                migration=migration,
                phase_id=phase_ids[(migration.pk, template.phase.key)],
                key=template.key,
                title=template.title,
                group=template.group,
                guide_url=template.guide_url,
                responsible_role=template.responsible_role,
                anchor=template.anchor,
                offset_days=template.offset_days,
                kind=template.kind,
                condition=template.condition,
                position=template.position,
                due_on=due_on,
            )
            roll = rnd.random()
            if template.condition and not getattr(migration, template.condition):
                item.status, item.reason = ItemStatus.NOT_APPLICABLE, "Does not apply to this practice."
            elif due_on and due_on < today and roll < diligence:
                item.status, item.completed_by, item.completed_at = ItemStatus.DONE, manager, now
            elif roll > 0.985:
                item.status, item.reason = ItemStatus.BLOCKED, "Waiting for the supplier."
            items.append(item)
    ChecklistItem.objects.bulk_create(items, batch_size=5000)
    for item in items:
        if item.status != ItemStatus.TO_DO:
            events.append(
                Event(
                    migration_id=item.migration_id,
                    item=item,
                    actor=item.completed_by,
                    at=now,
                    kind=Event.Kind.STATUS,
                    field="status",
                    old_value="to_do",
                    new_value=item.status,
                    reason=item.reason,
                )
            )
    Event.objects.bulk_create(events, batch_size=5000)


def _personas() -> dict:
    return {
        "admin": User.objects.get(email="bench.admin@bench.localhost"),
        "delivery_partner": User.objects.get(email="bench.dp@bench.localhost"),
        "icb": User.objects.get(email="bench.icb@bench.localhost"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=7000)
    parser.add_argument(
        "--ten-times", action="store_true", help="70,000 migrations, 420 ICBs and 100 delivery partners"
    )
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    started = time.perf_counter()
    if arguments.ten_times:
        build(70_000, icbs=420, partners=100)
    else:
        build(arguments.migrations)
    print(
        f"migrations: {PracticeMigration.objects.count()}, items: {ChecklistItem.objects.count()}, "
        f"events: {Event.objects.count()}, built in {time.perf_counter() - started:.0f}s"
    )


if __name__ == "__main__":
    main()
