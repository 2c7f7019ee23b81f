"""Capacity: requests per second at saturation, CPU-ms per request and p50/p95 of the requests that
carry the load, with the app served by gunicorn in production settings over the national data set.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/capacity.py
    ... bench/capacity.py --only page,tick --seconds 20 --clients 6

Builds the national data set first when it is missing (bench/national_data.py). Serves the app as
bench/load.py does (config/gunicorn.conf.py, DJANGO_DEBUG=false, static files collected, the client
standing in for the TLS proxy), then, for each kind of request, runs a closed loop: --clients
clients each send their next request as soon as the last one is answered, for --seconds after a
warm-up. That saturates the server, so requests per second is its capacity for that request
alone. CPU-ms per request is the CPU gunicorn's processes used (from /proc) over the requests
answered; PostgreSQL's backends are given apart. Every answer must be 200 and every rate must meet
its target: a run with errors or a missed target says so and exits with status 1.

The kinds:
  page        a practice manager's migration page (the default view), one migration per client
  tick        the tick pair: mark an item done, then reopen it, with htmx (two requests a pair)
  dp          a delivery partner's dashboard (its 700 migrations), first page
  national    the national dashboard (every migration), first page, as a support admin
  floor       the page that explains the RAG status, as the practice manager: a signed-in page
              that reads nothing of its own (the sign-in, session and standing every page reads,
              and the layout), so what any page costs at least; it has no target

A page's CPU divides between that floor, the ORM writing its SQL and building model objects,
and the templates.

The clients are threads of this process on the same machine; the CPU they use is printed too.
"""

import argparse
import http.client
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")
# The sessions made here are signed with the key the server runs with.
SECRET_KEY = secrets.token_urlsafe(50)
os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from bench.load import (  # noqa: E402
    collect_static,
    empty_queue,
    free_port,
    production_environment,
    start_gunicorn,
    stop,
    wait_until_healthy,
)
from bench.national_data import build  # noqa: E402
from migrations_app import access  # noqa: E402
from migrations_app.middleware import start_session  # noqa: E402
from migrations_app.models import ItemKind, ItemStatus, PracticeMigration, Role, User  # noqa: E402
from migrations_app.sessions import USER_BACKEND  # noqa: E402

KINDS = ("page", "tick", "dp", "national", "floor")
TARGETS = {"page": 100, "tick": 200, "dp": 60}  # requests per second at saturation (the tick: pairs count as two)
REVISION = re.compile(r'name="revision" value="(\d+)"')


def signed_in_cookie(user: User) -> str:
    """A session for `user` as a completed sign-in leaves it (second factor included), as the
    production cookie the server reads."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = USER_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None and access.two_factor_required(user):
        device = TOTPDevice.objects.create(user=user, name="Bench", confirmed=True)
    start_session(session, user)
    if device is not None:
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return session.session_key


class Client:
    """One keep-alive connection, as the TLS proxy would pass requests on."""

    def __init__(self, port: int, session_key: str) -> None:
        self.port = port
        self.csrf = get_random_string(32)  # a CSRF secret as Django makes them (letters and digits)
        self.cookie = f"__Host-sessionid={session_key}; __Host-csrftoken={self.csrf}"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str = "", htmx: bool = False) -> tuple[int, str]:
        headers = {
            "Cookie": self.cookie,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "10.0.0.1",
        }
        if method == "POST":
            headers |= {
                "X-CSRFToken": self.csrf,
                "Origin": f"https://127.0.0.1:{self.port}",
                "Referer": f"https://127.0.0.1:{self.port}/",
                "Content-Type": "application/x-www-form-urlencoded",
            }
        if htmx:
            headers |= {"HX-Request": "true"}
        self.connection.request(method, path, body=body.encode(), headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read().decode(errors="replace")


def page_work(port: int, migration: PracticeMigration, manager: User):
    client = Client(port, signed_in_cookie(manager))
    path = f"/migrations/{migration.pk}/"

    def one() -> list[int]:
        return [client.request("GET", path)[0]]

    return one


def tick_work(port: int, migration: PracticeMigration, manager: User):
    client = Client(port, signed_in_cookie(manager))
    item = migration.items.filter(
        status=ItemStatus.TO_DO, kind=ItemKind.TASK, responsible_role=Role.PRACTICE_MANAGER
    ).first()
    base = f"/migrations/{migration.pk}/items/{item.pk}/"

    def one() -> list[int]:
        status, body = client.request("POST", base + "complete/", htmx=True)
        revision = REVISION.search(body)
        if status != 200 or revision is None:
            return [status, 0]
        reopened, _ = client.request("POST", base + "reopen/", f"revision={revision.group(1)}", htmx=True)
        return [status, reopened]

    return one


def dashboard_work(port: int, user: User, path: str = "/dashboard/"):
    client = Client(port, signed_in_cookie(user))

    def one() -> list[int]:
        return [client.request("GET", path)[0]]

    return one


def cpu_seconds(group: int) -> dict[tuple[str, int], float]:
    """CPU seconds so far of each process of gunicorn's process group and of PostgreSQL, by
    (kind, pid), and of this process (the clients)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[tuple[str, int], float] = {("client", 0): time.process_time()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if int(fields[2]) == group:
            used["gunicorn", int(entry.name)] = seconds
        elif command.startswith("postgres"):
            used["postgres", int(entry.name)] = seconds
    return used


def cpu_between(before: dict, after: dict, kind: str) -> float:
    """What the processes of `kind` used between the two readings: a process that started in
    between counts whole; one that ended in between is lost (so the figure is never negative)."""
    return sum(seconds - before.get(key, 0.0) for key, seconds in after.items() if key[0] == kind)


def run(works: list, seconds: float, warm_up: float, group: int) -> dict:
    """The closed loop: each work function called over and over by its own thread."""
    stop_at = threading.Event()
    measuring = threading.Event()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def loop(one) -> None:
        while not stop_at.is_set():
            started = time.perf_counter()
            answers = one()
            elapsed = time.perf_counter() - started
            if measuring.is_set():
                with lock:
                    latencies.extend([elapsed / len(answers)] * len(answers))
                    for status in answers:
                        statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=loop, args=(one,), daemon=True) for one in works]
    for thread in threads:
        thread.start()
    time.sleep(warm_up)
    before, wall = cpu_seconds(group), time.perf_counter()
    measuring.set()
    time.sleep(seconds)
    measuring.clear()
    after, wall = cpu_seconds(group), time.perf_counter() - wall
    stop_at.set()
    for thread in threads:
        thread.join()
    answered = len(latencies)
    ordered = sorted(latencies)
    return {
        "requests": answered,
        "per_second": answered / wall,
        "server_ms": 1000 * cpu_between(before, after, "gunicorn") / max(answered, 1),
        "postgres_ms": 1000 * cpu_between(before, after, "postgres") / max(answered, 1),
        "client_ms": 1000 * cpu_between(before, after, "client") / max(answered, 1),
        "p50": 1000 * statistics.median(ordered) if ordered else 0.0,
        "p95": 1000 * ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0,
        "errors": {status: count for status, count in statuses.items() if status != 200},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(KINDS), help=f"kinds to measure, of {', '.join(KINDS)}")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per kind")
    parser.add_argument("--warm-up", type=float, default=4)
    parser.add_argument("--clients", type=int, default=6, help="concurrent clients (threads)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers, 4 threads each")
    arguments = parser.parse_args()
    kinds = [kind for kind in arguments.only.split(",") if kind]
    if unknown := set(kinds) - set(KINDS):
        raise SystemExit(f"Unknown kinds: {', '.join(sorted(unknown))}")
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    personas = build()
    settings.DEBUG = False
    # Practices under way with most of their checklist still to do: a page of open items, and
    # an item to tick. One migration per client, so the clients' ticks do not queue on each other's rows.
    migrations = list(
        PracticeMigration.objects.filter(status=PracticeMigration.Status.ACTIVE, go_live_on__isnull=False)
        .select_related("practice")
        .order_by("go_live_on")[2000 : 2000 + arguments.clients]
    )
    managers = [
        User.objects.get(memberships__practice=migration.practice, memberships__role=Role.PRACTICE_MANAGER)
        for migration in migrations
    ]
    database_url = os.environ["DATABASE_URL"]
    environment = production_environment(database_url) | {"DJANGO_SECRET_KEY": SECRET_KEY}
    collect_static(environment)
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="capacity-")) / "gunicorn.log"
    server = start_gunicorn(port, arguments.workers, environment, log)
    failed = False
    try:
        wait_until_healthy(port, server, log)
        items = sum(m.items.count() for m in migrations[:1])
        threads = os.environ.get("WEB_THREADS", "4")  # config/gunicorn.conf.py's default
        print(
            f"gunicorn: {arguments.workers} workers x {threads} threads, production settings; {os.cpu_count()} CPUs; "
            f"{PracticeMigration.objects.count():,} migrations ({items} items on each page measured); "
            f"{arguments.clients} clients, {arguments.warm_up:.0f} s warm-up, {arguments.seconds:.0f} s measured"
        )
        header = (
            f"{'request':<26}{'req/s':>8}{'target':>8}{'p50 ms':>8}{'p95 ms':>8}"
            f"{'CPU-ms':>8}{'PG-ms':>7}{'client':>8}{'errors':>8}"
        )
        print(header)
        print("-" * len(header))
        for kind in kinds:
            if kind == "page":
                works = [page_work(port, m, u) for m, u in zip(migrations, managers, strict=True)]
                label = "migration page"
            elif kind == "tick":
                works = [tick_work(port, m, u) for m, u in zip(migrations, managers, strict=True)]
                label = "tick pair (per request)"
            elif kind == "dp":
                works = [dashboard_work(port, personas["delivery_partner"]) for _ in migrations]
                label = "delivery-partner dashboard"
            elif kind == "national":
                works = [dashboard_work(port, personas["admin"]) for _ in migrations]
                label = "national dashboard"
            else:
                works = [dashboard_work(port, manager, "/dashboard/rag/") for manager in managers]
                label = "floor (RAG help page)"
            figures = run(works, arguments.seconds, arguments.warm_up, server.pid)
            target = TARGETS.get(kind)
            missed = target is not None and figures["per_second"] < target
            errors = sum(figures["errors"].values())
            failed |= bool(errors) or missed
            print(
                f"{label:<26}{figures['per_second']:>8.1f}{(f'>={target}' if target else '-'):>8}"
                f"{figures['p50']:>8.0f}{figures['p95']:>8.0f}{figures['server_ms']:>8.1f}"
                f"{figures['postgres_ms']:>7.1f}{figures['client_ms']:>8.1f}{errors:>8}"
                + ("  (under target)" if missed else "")
            )
            if errors:
                print(f"  answers other than 200: {figures['errors']}")
    finally:
        stop(server)
        empty_queue()
    print()
    print("req/s: answers per second at saturation; CPU-ms: gunicorn's CPU per answer; PG-ms: PostgreSQL's;")
    print("client: this process's (the clients') CPU per answer, on the same cores.")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
