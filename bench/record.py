"""The migration record of a finished migration with 112 items and 400 events: the size of its page
and its PDF, the time to make each (p50 of --runs) and their queries.

    .venv/bin/python bench/record.py                      # the database of DATABASE_URL (SQLite by default)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/record.py

Migrates and loads the guide if need be, then makes a practice of its own (a new ODS code each run)
and a migration from the guide's first version (112 items), worked through the model methods as
people would: milestones replanned, items done, noted, marked not applicable, gates signed (one
with an override), until its log holds 400 events, then completed by signing its last gate. The
page is timed as the view makes it (record.build, then the template); the PDF as record.build then
record_pdf.render. The first PDF of a process also reads the fonts (migrations_app/record_fonts):
it is timed apart.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Development settings, asked for as `make bench` does (production, the default, needs a secret key).
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from migrations_app import record, record_pdf  # noqa: E402
from migrations_app.models import (  # noqa: E402
    ICB,
    Event,
    ItemStatus,
    Practice,
    PracticeMigration,
    Supplier,
    TemplateVersion,
    User,
)
from tests.factories import MILESTONE_DATES  # noqa: E402

ITEMS = 112
EVENTS = 400


def make_migration() -> PracticeMigration:
    call_command("migrate", verbosity=0)
    call_command("load_guide", stdout=StringIO())
    version = TemplateVersion.objects.published().get(template__slug="practice-migration", number=1)
    runs = Practice.objects.filter(ods_code__startswith="B9").count()
    icb, _ = ICB.objects.get_or_create(code="QBN", defaults={"name": "NHS Bench ICB"})
    practice = Practice.objects.create(ods_code=f"B9{runs:04d}", name=f"Bench Surgery {runs}", icb=icb)
    source, _ = Supplier.objects.get_or_create(name="Bench Source Ltd", defaults={"system_name": "Bench Source"})
    target, _ = Supplier.objects.get_or_create(name="Bench Target Ltd", defaults={"system_name": "Bench Target"})
    manager, _ = User.objects.get_or_create(
        email="bench.manager@example.nhs.uk", defaults={"full_name": "Siân O'Brien"}
    )
    migration = PracticeMigration.start(
        practice=practice,
        source_supplier=source,
        target_supplier=target,
        template_version=version,
        created_by=manager,
        **MILESTONE_DATES,
    )
    assert migration.items.count() == ITEMS, migration.items.count()
    work(migration, manager)
    return migration


def events_of(migration: PracticeMigration) -> int:
    return Event.objects.filter(migration=migration).count()


def work(migration: PracticeMigration, manager: User) -> None:
    """Replan, then close every item but the last gate, noting each, then reopen and close again
    until the log holds EVENTS - 1 events; the last gate's sign-off (which completes the migration)
    writes the last two (its own and the migration's change of status)."""
    for weeks in (1, 2):
        migration.change_milestones(
            {"go_live": MILESTONE_DATES["go_live_on"] + timedelta(weeks=weeks)}, by=manager, reason="Supplier's slot"
        )
    items = list(migration.items.order_by("phase__position", "position"))
    last_gate = items[-1]
    overridden = False
    for index, item in enumerate(items[:-1]):
        if item.status != ItemStatus.TO_DO:
            continue
        if item.is_gate:
            item.sign_off(manager, override_reason="" if overridden else "Agreed at the project board")
            overridden = True
        elif index % 10 == 3:
            item.mark_not_applicable(manager, "The practice does not use this service")
        else:
            item.complete(manager)
        item.set_note(manager, f"Checked by Siân on the call ({index})")
    tasks = [item for item in items[:-1] if not item.is_gate and item.status == ItemStatus.DONE]
    while events_of(migration) < EVENTS - 2:
        item = tasks.pop()
        item.refresh_from_db()
        item.reopen(manager, reason="Checked again")
        if events_of(migration) < EVENTS - 2:
            item.complete(manager)
    last_gate.sign_off(manager, override_reason="Everything re-entered")
    migration.refresh_from_db()


def timed(function, runs: int) -> tuple[float, object, int]:
    """The p50 seconds of `runs` calls, the last result and its queries."""
    seconds = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = function()
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    migration = make_migration()
    print(
        f"{connection.vendor}: {migration.practice} with {migration.items.count()} items, "
        f"{events_of(migration)} events, {migration.get_status_display().lower()}"
    )

    def page() -> str:
        return render_to_string(
            "migrations_app/record.html", {"migration": migration, "record": record.build(migration)}
        )

    def pdf() -> bytes:
        return record_pdf.render(record.build(migration))

    started = time.perf_counter()
    pdf()
    first = time.perf_counter() - started
    page_seconds, html, page_queries = timed(page, options.runs)
    pdf_seconds, document, pdf_queries = timed(pdf, options.runs)
    print(f"HTML: {len(html.encode()):,} bytes, p50 {page_seconds * 1000:.0f} ms, {page_queries} queries")
    print(
        f"PDF:  {len(document):,} bytes, p50 {pdf_seconds * 1000:.0f} ms, {pdf_queries} queries "
        f"(first of the process, fonts read: {first * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
