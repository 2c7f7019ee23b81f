"""The garbage collector's share of a request's CPU, with and without the freeze that each gunicorn
worker makes once warmed up (config/gunicorn.conf.py), over the national data set.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/gc_share.py
    ... bench/gc_share.py --only tick --requests 300

Each kind of request (as bench/capacity.py names them: a practice manager's migration page, the
tick pair, the delivery partner's dashboard) runs in this process through Django's test client,
with production settings (DEBUG off, the collected static files), after a warm-up. For each,
twice: as a worker without the freeze, then after gc.collect() and gc.freeze() as the workers do.
Printed: CPU-ms per request, the part of it spent in the collector (timed by gc.callbacks), and
collections per request, full ones apart. The figures are this process's, not gunicorn's, but the
collector walks what a process holds whoever holds it: a full collection walks every object the
app has loaded, and the freeze takes those out of its reach. The share is the figure to compare:
on a shared machine CPU-ms move with its neighbours, the share much less. No target: it explains
the capacity figures.
"""

import argparse
import gc
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_TRUSTED_PROXY_COUNT": "1",
        "LOG_LEVEL": "WARNING",
    }
)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench.capacity import REVISION, signed_in_cookie  # noqa: E402
from bench.load import collect_static  # noqa: E402
from bench.national_data import build  # noqa: E402
from migrations_app.models import ItemKind, ItemStatus, PracticeMigration, Role, User  # noqa: E402

KINDS = ("page", "tick", "dp")


def client_of(user: User) -> Client:
    client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="10.0.0.1")
    client.cookies["__Host-sessionid"] = signed_in_cookie(user)
    return client


def request_of(kind: str, personas: dict):
    """One request of `kind` (the tick: one of the pair, alternately), checked to answer 200."""
    migration = (
        PracticeMigration.objects.filter(status=PracticeMigration.Status.ACTIVE, go_live_on__isnull=False)
        .select_related("practice")
        .order_by("go_live_on")[2000]
    )
    manager = User.objects.get(memberships__practice=migration.practice, memberships__role=Role.PRACTICE_MANAGER)
    if kind == "dp":
        client = client_of(personas["delivery_partner"])
        return lambda: client.get("/dashboard/", secure=True)
    client = client_of(manager)
    if kind == "page":
        return lambda: client.get(f"/migrations/{migration.pk}/", secure=True)
    item = migration.items.filter(
        status=ItemStatus.TO_DO, kind=ItemKind.TASK, responsible_role=Role.PRACTICE_MANAGER
    ).first()
    base = f"/migrations/{migration.pk}/items/{item.pk}/"
    revision = []

    def tick():
        if revision:
            response = client.post(base + "reopen/", {"revision": revision.pop()}, HTTP_HX_REQUEST="true", secure=True)
        else:
            response = client.post(base + "complete/", HTTP_HX_REQUEST="true", secure=True)
            revision.append(REVISION.search(response.content.decode()).group(1))
        return response

    return tick


def measure(one, requests: int) -> dict:
    spent, started, collections, full = 0.0, [0.0], [0], [0]

    def timed(phase: str, info: dict) -> None:
        nonlocal spent
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent += time.process_time() - started[0]
            collections[0] += 1
            full[0] += info["generation"] == 2

    gc.callbacks.append(timed)
    try:
        begun = time.process_time()
        for _ in range(requests):
            response = one()
            if response.status_code != 200:
                raise SystemExit(f"Answered {response.status_code}")
        total = time.process_time() - begun
    finally:
        gc.callbacks.remove(timed)
    return {
        "cpu_ms": 1000 * total / requests,
        "gc_ms": 1000 * spent / requests,
        "share": 100 * spent / total,
        "collections": collections[0] / requests,
        "full": full[0] / requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(KINDS), help=f"kinds to measure, of {', '.join(KINDS)}")
    parser.add_argument("--requests", type=int, default=200, help="requests measured per kind and setting")
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    collect_static(dict(os.environ))
    personas = build()
    kinds = [kind for kind in arguments.only.split(",") if kind]
    works = {kind: request_of(kind, personas) for kind in kinds}
    for one in works.values():
        for _ in range(10):
            one()  # warm: URL patterns, templates, compiled statements
    results = {kind: measure(one, arguments.requests) for kind, one in works.items()}
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    results_frozen = {kind: measure(one, arguments.requests) for kind, one in works.items()}
    print(f"{arguments.requests} requests of each kind; {frozen:,} objects frozen")
    header = f"{'request':<28}{'freeze':>8}{'CPU-ms':>9}{'GC-ms':>8}{'GC share':>10}{'GCs/req':>9}{'full/req':>10}"
    print(header)
    print("-" * len(header))
    for kind in kinds:
        for label, figures in (("no", results[kind]), ("yes", results_frozen[kind])):
            print(
                f"{kind:<28}{label:>8}{figures['cpu_ms']:>9.2f}{figures['gc_ms']:>8.2f}{figures['share']:>9.0f}%"
                f"{figures['collections']:>9.2f}{figures['full']:>10.3f}"
            )


if __name__ == "__main__":
    main()
