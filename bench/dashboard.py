"""The dashboard at national scale: server time per page, queries per page, page time against its
floors (its own SQL run directly, and the Django admin's list of the same migrations), the CSV
export's time and peak memory, and how the national page grows with ten times the country.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/dashboard.py \\
        [--ten-times-url postgres://postgres@127.0.0.1:5432/tracker_bench_x10]

Builds the national data set first when it is missing (bench/national_data.py, about 3 minutes);
the ten-times set must be built beforehand (national_data.py --ten-times, about 25 minutes). With
--ten-times-url the same pages are measured there (in a process of its own) and the growth printed.
Requests go through Django's test client in this process: middleware, session, the view and the
template, without a network. Targets on the 2-core development machine (issue "Pages whose cost does
not grow with the country"): a delivery partner's page p95 under 100 ms; a page at most 1.3 times
its own SQL; the national page at most 1.5 times the admin's list; the national page's p50 at
most 1.2 times as long at 70,000 migrations as at 7,000; the CSV's peak memory under 2 MB whatever
its number of rows. Exits 1 when a target is missed.
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
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

# For comparison with the pages before the figures were kept: the rows, computed by one
# statement: the migrations the user can see (the access rule; `everything` switches it off for a
# reader of every migration) with their done, applicable and blocked counts and phase
# (checklistprogress), their overdue items and gates and the items done ahead of plan counted from
# the items: every figure the RAG status, the sort and the summary need, for every row.
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


# The Django admin's list of migrations, as a support admin sees it: its first page and a sort.
ADMIN_PAGES = [{}, {"o": "-3"}]

TARGETS = {
    "delivery partner p95 ms": 100,
    "page / own SQL": 1.3,
    "national / admin list": 1.5,
    "national growth (p50 at 70,000 / 7,000)": 1.2,
    "CSV peak MB": 2.0,
}


def measure_admin(client: Client, rounds: int) -> float:
    """p50 of the admin's list of migrations (as a superuser: every one)."""
    address = reverse("admin:migrations_app_practicemigration_changelist")
    for params in ADMIN_PAGES:
        assert client.get(address, params).status_code == 200
    timings = []
    for _ in range(rounds):
        for params in ADMIN_PAGES:
            started = time.perf_counter()
            client.get(address, params)
            timings.append(time.perf_counter() - started)
    return percentile(timings, 0.5)


def measure(rounds: int) -> dict:
    """Every figure of this database, as a dict (the ten-times run hands it back as JSON)."""
    personas = build()
    # As in production: no query log kept in memory.
    settings.DEBUG = False
    today = timezone.localdate()
    figures = {"migrations": PracticeMigration.objects.count(), "today": today.isoformat(), "views": {}}
    for label, persona, everything in (
        ("delivery partner", "delivery_partner", False),
        ("national (staff)", "admin", True),
    ):
        user = personas[persona]
        client = signed_in(user)
        timings, queries, statements = measure_pages(client, rounds)
        sql_seconds, rows = measure_sql(SAME_ROWS_SQL, {"everything": everything, "user": user.pk, "today": today}, 10)
        figures["views"][label] = {
            "rows": rows,
            "p50": percentile(timings, 0.5),
            "p95": percentile(timings, 0.95),
            "max": max(timings),
            "queries": [min(queries), max(queries)],
            "same_rows_sql": sql_seconds,
            "own_sql": measure_own_sql(statements, 3),
            "admin_p50": measure_admin(client, rounds) if everything else None,
            "csv": measure_csv(client),
        }
    return figures


def report(figures: dict, rounds: int) -> list[str]:
    """Print the figures; return the targets missed."""
    print(f"{len(PAGES)} pages x {rounds} rounds per view: {', '.join(urlencode(p) or '(default)' for p in PAGES)}")
    print()
    header = (
        f"{'view':<18}{'rows':>6}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'queries':>9}"
        f"{'own SQL':>9}{'page/own':>10}{'admin ms':>10}{'page/admin':>12}{'old SQL':>9}"
    )
    print(header)
    print("-" * len(header))
    missed = []
    for label, view in figures["views"].items():
        low, high = view["queries"]
        queries = f"{low}-{high}" if low != high else str(high)
        over_own = view["p50"] / view["own_sql"]
        admin = view["admin_p50"]
        print(
            f"{label:<18}{view['rows']:>6}{view['p50'] * 1000:>8.0f}{view['p95'] * 1000:>8.0f}"
            f"{view['max'] * 1000:>8.0f}{queries:>9}{view['own_sql'] * 1000:>9.1f}{over_own:>10.2f}"
            f"{admin * 1000 if admin else 0:>10.0f}{view['p50'] / admin if admin else 0:>12.2f}"
            f"{view['same_rows_sql'] * 1000:>9.0f}"
        )
        if over_own > TARGETS["page / own SQL"]:
            missed.append(f"{label}: page / own SQL {over_own:.2f}")
        if admin and view["p50"] / admin > TARGETS["national / admin list"]:
            missed.append(f"{label}: page / admin list {view['p50'] / admin:.2f}")
    partner_p95 = figures["views"]["delivery partner"]["p95"] * 1000
    if partner_p95 > TARGETS["delivery partner p95 ms"]:
        missed.append(f"delivery partner p95 {partner_p95:.0f} ms")
    print()
    print("own SQL: the page's own queries run again directly (median over the pages, ms); page/own: p50 over it.")
    print("admin: the Django admin's list of every migration (p50, ms), first page and a sort, as a support admin.")
    print("old SQL: one statement computing every row's figures from the items, as the page did before they were kept.")
    print()
    for label, view in figures["views"].items():
        seconds, peak, size, lines = view["csv"]
        print(
            f"CSV {label:<18}{lines - 1:>6} rows {seconds:6.2f} s   peak traced memory {peak:5.2f} MB"
            f"   ({size / 1e6:.1f} MB of CSV, sent in chunks of {CHUNK} rows)"
        )
        if peak > TARGETS["CSV peak MB"]:
            missed.append(f"CSV {label}: peak {peak:.2f} MB")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="times each of the pages is requested")
    parser.add_argument(
        "--ten-times-url",
        default=os.environ.get("BENCH_TEN_TIMES_DATABASE_URL") or None,
        help="DATABASE_URL of the ten-times data set, to measure the growth (default: BENCH_TEN_TIMES_DATABASE_URL)",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the ten-times run's answer
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    if arguments.json:
        print(json.dumps(measure(arguments.rounds)))
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    print(f"load average before: {load_average()}")
    figures = measure(arguments.rounds)
    print(
        f"{server}, {os.cpu_count()} CPUs: {figures['migrations']:,} migrations, "
        f"{ChecklistItem.objects.count():,} items, {Event.objects.count():,} events; today {figures['today']}"
    )
    missed = report(figures, arguments.rounds)
    if arguments.ten_times_url:
        print()
        print("Ten times the country (measured in a process of its own):")
        answer = subprocess.run(
            [sys.executable, __file__, "--json", "--rounds", str(arguments.rounds)],
            env=os.environ | {"DATABASE_URL": arguments.ten_times_url},
            capture_output=True,
            text=True,
            check=True,
        )
        large = json.loads(answer.stdout.splitlines()[-1])
        print(f"{large['migrations']:,} migrations")
        missed += report(large, arguments.rounds)
        print()
        for label, view in figures["views"].items():
            growth = large["views"][label]["p50"] / view["p50"]
            sizes = f"{large['migrations']:,} over {figures['migrations']:,}"
            print(f"growth of the {label} page, p50 at {sizes}: {growth:.2f}")
        growth = large["views"]["national (staff)"]["p50"] / figures["views"]["national (staff)"]["p50"]
        if growth > TARGETS["national growth (p50 at 70,000 / 7,000)"]:
            missed.append(f"national growth {growth:.2f}")
    print()
    print(f"load average after: {load_average()}")
    print("targets: " + "; ".join(f"{name} at most {value}" for name, value in TARGETS.items()))
    if missed:
        print("MISSED: " + "; ".join(missed))
        raise SystemExit(1)
    print("every target met")


def load_average() -> str:
    """Other work on the machine slows every figure down: say how busy it was."""
    return " ".join(f"{load:.1f}" for load in os.getloadavg()) + " (1, 5, 15 min)"


if __name__ == "__main__":
    main()
