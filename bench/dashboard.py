"""The dashboard at national scale: server time per page, queries per page, page time against the
raw SQL that computes the same rows, and the CSV export's time and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/dashboard.py

Builds the national data set first when it is missing (bench/national_data.py, about 5 minutes).
Requests go through Django's test client in this process: middleware, session, the view and the
template, without a network. Targets on the 2-core development machine: at most 12 queries per
page, p95 at most 200 ms for a delivery partner's page and 500 ms for a national page, and the CSV
of 7,000 rows in under 3 s with flat memory.
"""

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Development settings, asked for as `make bench` does (production, the default, needs a secret key).
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from bench.national_data import build  # noqa: E402
from migrations_app.dashboard.export import CHUNK  # noqa: E402
from migrations_app.models import ChecklistItem, Event, PracticeMigration  # noqa: E402

# Pages a person opens in a session: the landing view, a sort, filters, a later page, a search.
PAGES = [
    {},
    {"sort": "-overdue"},
    {"rag": "red"},
    {"page": "3"},
    {"go_live": "next-4-weeks", "sort": "go_live"},
    {"phase": "cutover-and-go-live"},
    {"search": "Bench Practice 00"},
    {"sort": "next_due", "page": "2"},
]

# The rows the page shows, computed by one statement: the migrations the user can see (the
# access rule; `everything` switches it off for a reader of every migration) with their done, applicable and blocked
# counts and phase (checklistprogress), their overdue items and gates, and the items done ahead of
# plan: every figure the RAG status, the sort and the summary need for every row. (The next item
# due is looked up for the page's rows only, by two small queries.)
SAME_ROWS_SQL = """
SELECT m.id, p.name, p.ods_code, icb.name, source.system_name, target.system_name, m.status,
    m.template_version_id, m.go_live_on, m.fdp_on, progress.items_done, progress.items_applicable,
    progress.items_blocked, progress.phase_position, coalesce(o.overdue, 0), coalesce(o.gates_overdue, 0),
    coalesce(a.done_ahead, 0)
FROM migrations_app_practicemigration m
JOIN migrations_app_practice p ON p.id = m.practice_id
JOIN migrations_app_icb icb ON icb.id = p.icb_id
JOIN migrations_app_supplier source ON source.id = m.source_supplier_id
JOIN migrations_app_supplier target ON target.id = m.target_supplier_id
LEFT JOIN migrations_app_checklistprogress progress ON progress.migration_id = m.id
LEFT JOIN (
    SELECT migration_id, count(*) AS overdue, count(*) FILTER (WHERE kind = 'gate') AS gates_overdue
    FROM migrations_app_checklistitem
    WHERE status IN ('to_do', 'blocked') AND due_on < %(today)s AND archived_at IS NULL
    GROUP BY migration_id
) o ON o.migration_id = m.id
LEFT JOIN (
    SELECT migration_id, count(*) AS done_ahead FROM migrations_app_checklistitem
    WHERE status = 'done' AND coalesce(due_on, '9999-12-31'::date) >= %(today)s AND archived_at IS NULL
    GROUP BY migration_id
) a ON a.migration_id = m.id
WHERE m.status = 'active' AND (
    %(everything)s
    OR m.practice_id IN (SELECT practice_id FROM migrations_app_membership WHERE user_id = %(user)s)
    OR p.delivery_partner_id IN (SELECT delivery_partner_id FROM migrations_app_membership WHERE user_id = %(user)s)
    OR p.icb_id IN (SELECT icb_id FROM migrations_app_membership WHERE user_id = %(user)s)
)
"""

# For comparison: the national figures counted from every item, without the counters.
EVERY_ITEM_SQL = """
SELECT i.migration_id,
    count(*) FILTER (WHERE i.status <> 'not_applicable') AS applicable,
    count(*) FILTER (WHERE i.status = 'done') AS done,
    count(*) FILTER (WHERE i.status IN ('to_do', 'blocked') AND i.due_on < %(today)s) AS overdue,
    count(*) FILTER (WHERE i.status = 'blocked') AS blocked,
    count(*) FILTER (WHERE i.status IN ('to_do', 'blocked') AND i.due_on < %(today)s AND i.kind = 'gate') AS gates,
    min(i.due_on) FILTER (WHERE i.status IN ('to_do', 'blocked') AND i.due_on >= %(today)s) AS next_due_on,
    min(ph.position) FILTER (WHERE i.status IN ('to_do', 'blocked')) AS phase_position
FROM migrations_app_checklistitem i JOIN migrations_app_migrationphase ph ON ph.id = i.phase_id
WHERE i.archived_at IS NULL
GROUP BY i.migration_id
"""


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def url(name: str, params: dict) -> str:
    return reverse(name) + ("?" + urlencode(params) if params else "")


def measure_pages(client: Client, rounds: int) -> tuple[list[float], list[int], list[list[str]]]:
    """Server times of every page, `rounds` times each; the queries of each page, and their SQL."""
    for params in PAGES:  # warm the caches, the connection and the templates
        client.get(url("migrations:dashboard", params))
    timings = []
    for _ in range(rounds):
        for params in PAGES:
            started = time.perf_counter()
            response = client.get(url("migrations:dashboard", params))
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
    queries, statements = [], []
    for params in PAGES:
        with CaptureQueriesContext(connection) as captured:
            client.get(url("migrations:dashboard", params))
        queries.append(len(captured))
        statements.append([query["sql"] for query in captured.captured_queries])
    return timings, queries, statements


def measure_own_sql(pages: list[list[str]], rounds: int) -> float:
    """Median over the pages of the time their own queries take when run again directly."""
    per_page = []
    with connection.cursor() as cursor:
        for statements in pages:
            timings = []
            for _ in range(rounds + 1):
                started = time.perf_counter()
                for statement in statements:
                    cursor.execute(statement)
                    if cursor.description:
                        cursor.fetchall()
                timings.append(time.perf_counter() - started)
            per_page.append(statistics.median(timings[1:]))
    return statistics.median(per_page)


def measure_sql(sql: str, params: dict, rounds: int) -> tuple[float, int]:
    timings, count = [], 0
    with connection.cursor() as cursor:
        for _ in range(rounds + 2):
            started = time.perf_counter()
            cursor.execute(sql, params)
            count = len(cursor.fetchall())
            timings.append(time.perf_counter() - started)
    return statistics.median(timings[2:]), count


def measure_csv(client: Client) -> tuple[float, float, int, int]:
    """Seconds and peak traced memory (MB) for the whole export, its size in bytes and lines. Time
    and memory are taken in separate runs: tracing allocations slows Python down."""
    csv_url = url("migrations:dashboard_csv", {})
    response = client.get(csv_url)
    b"".join(response.streaming_content)  # warm
    gc.collect()
    started = time.perf_counter()
    response = client.get(csv_url)
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    response = client.get(csv_url)
    for chunk in response.streaming_content:
        del chunk
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak, size, lines


def signed_in(user) -> Client:
    """A client signed in as `user`, second factor included (staff and delivery partners need one)."""
    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="Bench", defaults={"confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="times each of the pages is requested")
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    personas = build()
    # As in production: no query log kept in memory.
    settings.DEBUG = False
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    print(
        f"{server}, {os.cpu_count()} CPUs: {PracticeMigration.objects.count():,} migrations, "
        f"{ChecklistItem.objects.count():,} items, {Event.objects.count():,} events; today {today}"
    )
    pages = ", ".join(urlencode(params) or "(default)" for params in PAGES)
    print(f"{len(PAGES)} pages x {arguments.rounds} rounds per view: {pages}")
    print(f"load average before: {load_average()}")
    print()
    header = (
        f"{'view':<18}{'rows':>6}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'queries':>9}"
        f"{'SQL ms':>8}{'page/SQL':>10}{'own SQL ms':>12}"
    )
    print(header)
    print("-" * len(header))
    csv_figures = []
    for label, persona, everything in (
        ("delivery partner", "delivery_partner", False),
        ("national (staff)", "admin", True),
    ):
        user = personas[persona]
        client = signed_in(user)
        timings, queries, statements = measure_pages(client, arguments.rounds)
        sql_seconds, rows = measure_sql(SAME_ROWS_SQL, {"everything": everything, "user": user.pk, "today": today}, 10)
        own_seconds = measure_own_sql(statements, 3)
        p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
        query_range = f"{min(queries)}-{max(queries)}" if min(queries) != max(queries) else str(max(queries))
        print(
            f"{label:<18}{rows:>6}{p50 * 1000:>8.0f}{p95 * 1000:>8.0f}{max(timings) * 1000:>8.0f}{query_range:>9}"
            f"{sql_seconds * 1000:>8.0f}{p50 / sql_seconds:>10.1f}{own_seconds * 1000:>12.0f}"
        )
        csv_figures.append((label, *measure_csv(client)))
    every_item_ms = measure_sql(EVERY_ITEM_SQL, {"today": today}, 5)[0] * 1000
    print()
    print("SQL: one statement computing the same rows, run directly (median); page/SQL: the page's p50 over it.")
    print("own SQL: the page's own queries run again directly (median over the pages); the rest is Python.")
    print(f"For comparison, the national figures counted from every item (no counters): {every_item_ms:.0f} ms of SQL.")
    print()
    for label, seconds, peak, size, lines in csv_figures:
        print(
            f"CSV {label:<18}{lines - 1:>6} rows {seconds:6.2f} s   peak traced memory {peak:5.1f} MB"
            f"   ({size / 1e6:.1f} MB of CSV, sent in chunks of {CHUNK} rows)"
        )
    (*_, small_peak, _, small_lines), (*_, large_peak, _, large_lines) = csv_figures
    per_row = (large_peak - small_peak) * 1e6 / (large_lines - small_lines) / 1000
    print(f"CSV memory per extra row: {per_row:.2f} kB (the rows the sort needs; the CSV text is never held whole)")
    print(f"load average after: {load_average()}")


def load_average() -> str:
    """Other work on the machine slows every figure down: say how busy it was."""
    return " ".join(f"{load:.1f}" for load in os.getloadavg()) + " (1, 5, 15 min)"


if __name__ == "__main__":
    main()
