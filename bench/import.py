"""Importing an order tracker at scale: the preview and the apply of CSV files of 500 and 2,000 rows,
with time, queries and peak traced memory, so that flatness in the number of rows shows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import.py [--sizes 500,2000]

Makes its own PostgreSQL database (tracker_import_bench, on the server of DATABASE_URL or
127.0.0.1:5432), emptied and migrated on every run. For each size, three files in turn, as a delivery
partner would send them:

1. every row a practice new to the tracker: the preview lists them as new; applying adds each
   practice and starts its migration (the guide's checklist, about 110 items each);
2. the same practices with go-live a week later and an IDP date: updates, each replanning its items;
3. the same file again: every row unchanged, and applying it is refused (it would change nothing).

The preview is timed through the page (GET, Django's test client: view, access, template); applying
through the model methods, as the confirm POST does. Memory is traced in a separate run of each
(tracing allocations slows Python several times over): the apply's run is rolled back. Targets:
preview under 5 s, apply under 30 s for 2,000 rows; memory flat in the number of rows.
"""

import argparse
import csv
import gc
import io
import os
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import psycopg2

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0]
DATABASE = "tracker_import_bench"
os.environ["DATABASE_URL"] = f"{SERVER_URL}/{DATABASE}"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
# Development settings, asked for as `make bench` does (production, the default, needs a secret key).
os.environ.setdefault("DJANGO_DEBUG", "true")


def fresh_database() -> None:
    connection = psycopg2.connect(f"{SERVER_URL}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    connection.close()


fresh_database()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from migrations_app import access  # noqa: E402
from migrations_app.models import (  # noqa: E402
    ICB,
    ChecklistItem,
    DeliveryPartner,
    Event,
    Membership,
    MigrationImport,
    PracticeMigration,
    Role,
    Supplier,
    User,
)
from migrations_app.portfolio import importing  # noqa: E402
from migrations_app.portfolio.tracker_file import TrackerFile  # noqa: E402

HEADER = [
    "ODS code",
    "Practice name",
    "ICB code",
    "Current system",
    "New system",
    "Order date",
    "Planned go-live",
    "IDP",
]
SYSTEMS = [("EMIS Web", "SystmOne"), ("SystmOne", "EMIS Web"), ("Vision", "EMIS Web"), ("Vision", "SystmOne")]
ORDER_ON = date(2026, 1, 5)


class Rollback(Exception):
    pass


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def set_up() -> tuple[User, DeliveryPartner]:
    call_command("migrate", verbosity=0)
    call_command("load_guide", verbosity=0)
    for name, system in [("EMIS Health", "EMIS Web"), ("TPP", "SystmOne"), ("Cegedim", "Vision")]:
        Supplier.objects.get_or_create(name=name, defaults={"system_name": system})
    for number in range(42):
        ICB.objects.get_or_create(code=f"Q{number:02d}B", defaults={"name": f"NHS Bench ICB {number:02d}"})
    partner = DeliveryPartner.objects.create(name="Bench Commissioning Support Unit")
    user = User.objects.create_user("bench.pm@example.nhs.uk", "bench-password-not-for-real-use", full_name="Bo Bench")
    Membership.objects.create(user=user, role=Role.DELIVERY_PARTNER, delivery_partner=partner)
    TOTPDevice.objects.create(user=user, name="Bench", confirmed=True)
    return user, partner


def tracker(size: int, first: int, *, moved: bool) -> bytes:
    """`size` rows from ODS code Z`first`: go-live 14 weeks after the order, or 15 with an IDP date (`moved`)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    for number in range(first, first + size):
        source, target = SYSTEMS[number % len(SYSTEMS)]
        go_live = ORDER_ON + timedelta(weeks=15 if moved else 14)
        idp = (ORDER_ON + timedelta(weeks=6)).strftime("%d/%m/%Y") if moved else ""
        writer.writerow(
            [
                f"Z{number:05d}",
                f"Bench Surgery {number}",
                f"Q{number % 42:02d}B",
                source,
                target,
                ORDER_ON.strftime("%d/%m/%Y"),
                go_live.isoformat(),
                idp,
            ]
        )
    return text.getvalue().encode()


def upload(user: User, partner: DeliveryPartner, content: bytes, name: str) -> MigrationImport:
    with TrackerFile(name, content) as tracker_file:
        rows = importing.count_rows(tracker_file)
    return MigrationImport.objects.create(
        uploaded_by=user, delivery_partner=partner, filename=name, content=content, sha256="-", row_count=rows
    )


def measure(timed, traced) -> tuple[float, int, float]:
    """Peak traced memory (MB) of `traced()`, then the seconds and queries of `timed()`: allocations
    are traced in a run of their own, as tracing slows Python several times over."""
    gc.collect()
    tracemalloc.start()
    traced()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    gc.collect()
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        timed()
        seconds = time.perf_counter() - started
    return seconds, counter.count, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000", help="rows per file, comma-separated")
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    user, partner = set_up()
    settings.DEBUG = False  # as in production: no query log kept in memory
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    starter = access.starter(user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    print(f"{server}, {os.cpu_count()} CPUs; database {DATABASE}, made afresh")
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    header = f"{'rows':>6} {'file':<10}{'step':<9}{'outcome':<28}{'seconds':>9}{'queries':>9}{'q/row':>7}{'peak MB':>9}"
    print(header)
    print("-" * len(header))
    first = 0
    failed = []
    for size in (int(each) for each in arguments.sizes.split(",")):
        for label, moved in (("new", False), ("updates", True), ("again", True)):
            the_upload = upload(user, partner, tracker(size, first, moved=moved), f"bench-{size}-{label}.csv")
            preview_url = reverse("migrations:import_preview", kwargs={"pk": the_upload.pk})
            client.get(preview_url)  # warm: templates, the session

            def preview(url=preview_url) -> None:
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            def apply(the_upload=the_upload, label=label) -> None:
                try:
                    importing.apply(the_upload, starter, user)
                except importing.ImportRefused:
                    if label != "again":  # a file that changes nothing is refused, having read every row
                        raise

            def apply_and_roll_back(the_upload=the_upload) -> None:
                try:
                    with transaction.atomic():
                        apply(MigrationImport.objects.get(pk=the_upload.pk))
                        raise Rollback
                except Rollback:
                    pass

            outcome = importing.outcome(importing.preview(the_upload, starter).counts)
            seconds, queries, peak = measure(preview, preview)
            print(
                f"{size:>6} {label:<10}{'preview':<9}{outcome:<28}{seconds:>9.2f}{queries:>9}"
                f"{queries / size:>7.2f}{peak:>9.1f}"
            )
            if size >= 2000 and seconds > 5:
                failed.append(f"preview of {size} ({label}) took {seconds:.1f} s")
            # Memory in a run that is rolled back, then the timed run that applies the file.
            seconds, queries, peak = measure(apply, apply_and_roll_back)
            the_upload.refresh_from_db()
            print(
                f"{size:>6} {label:<10}{'apply':<9}{the_upload.outcome or 'refused: changes nothing':<28}"
                f"{seconds:>9.2f}{queries:>9}"
                f"{queries / size:>7.2f}{peak:>9.1f}"
            )
            if size >= 2000 and seconds > 30:
                failed.append(f"apply of {size} ({label}) took {seconds:.1f} s")
        first += size
    print()
    print(
        f"In the database: {PracticeMigration.objects.count():,} migrations, {ChecklistItem.objects.count():,} items, "
        f"{Event.objects.count():,} events."
    )
    print("preview: the page (GET), 100 rows shown; apply: importing.apply(), as the confirm POST calls it.")
    print("peak MB: peak traced Python memory of a separate run (the apply's rolled back).")
    print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    if failed:
        raise SystemExit("Missed a target: " + "; ".join(failed))


if __name__ == "__main__":
    main()
