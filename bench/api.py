"""The REST API at national scale: a delivery partner listing their 700 migrations page by page, and
the national list of 7,000, as a reporting tool (Power BI, a CSU's own tracker) would read them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/api.py [--rounds 3]

Builds the national data set first when it is missing (bench/national_data.py, about 4 minutes).
Requests go through Django's test client in this process (middleware, DRF with a read-only personal
token in the Authorization header, the view and the JSON), without a network, following each page's
`next` link as a client does; --session reads with a signed-in browser session instead. Prints the
time per page (p50, p95, max), the queries per page and the time to list everything. The queries
per page are pinned in tests/test_api_queries.py; here a page may read one query fewer (no row with
an item due next) or write one more (a token's last use, once a minute, or a session's). Targets
(issue "A REST API with an OpenAPI schema and personal tokens"): p95 per page of 100 under 150 ms;
the whole 7,000 listed in under 10 s. Exits 1 when a target is missed.
"""

import argparse
import os
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

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.dashboard import load_average, percentile, signed_in  # noqa: E402
from bench.national_data import build  # noqa: E402
from migrations_app.models import ApiToken, ChecklistItem, PracticeMigration  # noqa: E402
from migrations_app.models.api_tokens import ApiTokenScope  # noqa: E402

TARGETS = {"p95 per page ms": 150, "national list s": 10}


def list_everything(client, params: dict) -> tuple[list[float], list[int], int, float]:
    """Every page of the list, by its `next` links: the time and queries of each page, the rows, and
    the time for the whole list."""
    timings, queries, rows = [], [], 0
    address = reverse("api:migration_list")
    started = time.perf_counter()
    while address:
        page_started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(address, params if not timings else None, HTTP_ACCEPT="application/json")
        timings.append(time.perf_counter() - page_started)
        assert response.status_code == 200, (response.status_code, response.content[:300])
        queries.append(len(captured.captured_queries))
        body = response.json()
        rows += len(body["results"])
        address = body["next"]
    return timings, queries, rows, time.perf_counter() - started


def token_client(user) -> Client:
    """A client sending a read-only personal token of `user`'s, made for this run (a new name each
    time), as a reporting tool would."""
    _, token = ApiToken.issue(
        user,
        name=f"Bench {timezone.now():%Y-%m-%d %H:%M:%S.%f}",
        scope=ApiTokenScope.READ,
        expires_on=timezone.localdate() + timedelta(days=1),
    )
    return Client(headers={"Authorization": f"Bearer {token}"})


def measure(label: str, user, params: dict, *, rounds: int, session: bool) -> dict:
    client = signed_in(user) if session else token_client(user)
    cache.clear()  # the throttles' counts: each round lists within the person's limit
    list_everything(client, params)  # warm the connection, the caches and the code
    timings, queries, whole = [], [], []
    for _ in range(rounds):
        cache.clear()
        page_timings, page_queries, rows, seconds = list_everything(client, params)
        timings += page_timings
        queries += page_queries
        whole.append(seconds)
    figures = {
        "label": label,
        "rows": rows,
        "pages": len(page_timings),
        "p50": percentile(timings, 0.5),
        "p95": percentile(timings, 0.95),
        "max": max(timings),
        "queries": sorted(set(queries)),
        "whole": min(whole),
        "whole_max": max(whole),
    }
    print(
        f"{label}: {rows:,} rows in {figures['pages']} pages; per page p50 {figures['p50'] * 1000:.0f} ms, "
        f"p95 {figures['p95'] * 1000:.0f} ms, max {figures['max'] * 1000:.0f} ms; queries per page "
        f"{', '.join(map(str, figures['queries']))}; whole list {figures['whole']:.2f} s "
        f"(slowest of {rounds}: {figures['whole_max']:.2f} s)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each whole list is read")
    parser.add_argument("--session", action="store_true", help="read with a browser session, not a token")
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    personas = build()
    # As in production: no query log kept in memory (CaptureQueriesContext keeps its own).
    settings.DEBUG = False
    print(f"load average before: {load_average()}")
    print(
        f"{PracticeMigration.objects.count():,} migrations, {ChecklistItem.objects.count():,} items; "
        f"{os.cpu_count()} CPUs; pages of {settings.REST_FRAMEWORK['PAGE_SIZE']}"
    )
    reads = {"rounds": arguments.rounds, "session": arguments.session}
    partner = measure("delivery partner", personas["delivery_partner"], {}, **reads)
    national = measure("national (staff)", personas["admin"], {}, **reads)
    sorted_list = measure("national, by go-live", personas["admin"], {"sort": "go_live"}, **reads)
    print(f"load average after: {load_average()}")
    missed = []
    for figures in (partner, national, sorted_list):
        if figures["p95"] * 1000 >= TARGETS["p95 per page ms"]:
            missed.append(f"{figures['label']} p95 {figures['p95'] * 1000:.0f} ms")
    if national["whole"] >= TARGETS["national list s"]:
        missed.append(f"national list {national['whole']:.1f} s")
    print("targets: " + "; ".join(f"{name} under {value}" for name, value in TARGETS.items()))
    if missed:
        print("MISSED: " + "; ".join(missed))
        raise SystemExit(1)
    print("every target met")


if __name__ == "__main__":
    main()
