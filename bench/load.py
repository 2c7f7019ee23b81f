"""Load run: 50 people for 2 minutes against the app served as production serves it, on loopback.

    .venv/bin/python bench/load.py                              # 50 users, 10 a second, 2 minutes
    .venv/bin/python bench/load.py --users 20 --run-time 30s
    .venv/bin/python bench/load.py --think 1-3                  # stress: a request every 1-3 s each
    .venv/bin/python bench/load.py --rebuild                    # after a migration changed in place

1. Prepares the PostgreSQL database `tracker_load` on 127.0.0.1 (created on the first run):
   bench/national_data.py's data set at 700 migrations (70 per delivery partner), its practice
   managers, and one delivery-partner user per simulated person (each with a confirmed TOTP
   device when two-factor sign-in is installed), all with the bench password.
2. Serves the app with gunicorn on 127.0.0.1 and a free port, as the Dockerfile does
   (config/gunicorn.conf.py: 3 workers of 4 threads), with DJANGO_DEBUG=false and the
   production settings: static files collected and served by WhiteNoise, persistent database
   connections (CONN_MAX_AGE), secure cookies, SSL redirect. The load client stands in for the
   TLS proxy (see bench/locustfile.py). Sign-off requests that ticks queue go to Redis
   database 14 under a queue of their own, emptied afterwards.
3. Runs locust headless with bench/locustfile.py: 4 practice users ticking items on their own
   migration (and reloading its page) for each delivery partner opening their dashboard, each
   person waiting 2-8 s between requests (--think; 1-3 for a stress test).
4. Prints throughput, p50/p95/p99 per request name and the errors, checks the targets (no
   errors; p95 under 300 ms for a tick and under 1 s for the dashboard; exit status 1 if one is
   missed), and stops gunicorn.

Everything runs on this machine, locust included; the CPU each part used, and what other processes
on the machine took meanwhile, is printed with the figures.
"""

import argparse
import csv
import io
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tracker_load"
BROKER_URL = "redis://127.0.0.1:6379/14"
BROKER_QUEUE = "tracker-load-run"
TARGETS = {"tick": 300, "dashboard": 1000}  # p95, milliseconds
# The requests of signing in, by name (bench/locustfile.py).
SIGN_IN = ("/accounts/login/", "after sign-in", "two-factor")
# A new record in the Django log ("2026-01-31 09:00:00,123 ...") or gunicorn's ("[2026-01-31 ...").
LOG_RECORD_START = re.compile(r"^\[?\d{4}-\d{2}-\d{2}[ T]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--run-time", default="2m")
    parser.add_argument(
        "--think",
        default="2-8",
        help="seconds each person waits between requests, MIN-MAX: 2-8 is someone working down their "
        "checklist; 1-3 is a stress test",
    )
    parser.add_argument("--migrations", type=int, default=700)
    parser.add_argument(
        "--workers",
        type=int,
        default=3,
        help="gunicorn workers, each with config/gunicorn.conf.py's threads (the image runs 3)",
    )
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument(
        "--rebuild", action="store_true", help="drop the load database and build it again (after a migration changed)"
    )
    arguments = parser.parse_args()
    # Stopped from outside: still stop gunicorn and locust (the finally blocks below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    database = urlsplit(arguments.database_url)
    if database.scheme not in ("postgres", "postgresql") or database.hostname not in LOOPBACK:
        raise SystemExit("The load run uses PostgreSQL on the loopback only: postgres://...@127.0.0.1:5432/NAME")
    create_database(arguments.database_url, drop_first=arguments.rebuild)
    os.environ["DATABASE_URL"] = arguments.database_url
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import national_data  # sets Django up on DATABASE_URL

    started = time.perf_counter()
    national_data.build(migrations=arguments.migrations)
    users = prepare_users(arguments.users, national_data.BENCH_PASSWORD)
    print(f"data: {arguments.migrations} migrations, users ready ({time.perf_counter() - started:.0f}s)", flush=True)

    with tempfile.TemporaryDirectory(prefix="tracker-load-") as scratch:
        scratch_dir = Path(scratch)
        users_file, requests_file = scratch_dir / "users.json", scratch_dir / "requests.tsv"
        users_file.write_text(json.dumps(users))
        environment = production_environment(arguments.database_url)
        collect_static(environment)
        port = free_port()
        server_log, locust_log, prefix = (
            scratch_dir / "gunicorn.log",
            scratch_dir / "locust.log",
            scratch_dir / "locust",
        )
        server, locust = start_gunicorn(port, arguments.workers, environment, server_log), None
        try:
            wait_until_healthy(port, server, server_log)
            print(describe_setup(arguments, port), flush=True)
            with locust_log.open("w") as locust_output:
                locust = subprocess.Popen(
                    [
                        str(VENV_BIN / "locust"),
                        "-f",
                        str(BASE_DIR / "bench" / "locustfile.py"),
                        "--headless",
                        "--users",
                        str(arguments.users),
                        "--spawn-rate",
                        str(arguments.spawn_rate),
                        "--run-time",
                        arguments.run_time,
                        "--host",
                        f"http://127.0.0.1:{port}",
                        "--csv",
                        str(prefix),
                        "--only-summary",
                        "--loglevel",
                        "WARNING",
                    ],
                    cwd=BASE_DIR,
                    env=os.environ
                    | {
                        "LOAD_USERS_FILE": str(users_file),
                        "LOAD_REQUESTS_FILE": str(requests_file),
                        "LOAD_THINK_SECONDS": arguments.think,
                    },
                    stdout=locust_output,
                    stderr=subprocess.STDOUT,
                )
                with CpuMeter(server.pid, locust.pid) as cpu:
                    returncode = locust.wait()
            # 1 when a request failed: the figures below say which.
            if returncode not in (0, 1):
                raise SystemExit(f"locust failed ({returncode}):\n{locust_log.read_text()[-3000:]}")
        finally:
            if locust is not None and locust.poll() is None:
                locust.terminate()
                locust.wait(timeout=30)
            stop(server)
            empty_queue()
        met = report(prefix, requests_file, server_log, locust_log)
        print(cpu.summary())
    sys.exit(0 if met else 1)


class CpuMeter:
    """CPU time used during the run by the app (gunicorn), PostgreSQL's backends for the load
    database, locust, and everything else on the machine, from /proc: the figures are only as
    good as the machine was quiet."""

    def __init__(self, server_pid: int, locust_pid: int) -> None:
        self.server_pid, self.locust_pid = server_pid, locust_pid
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def __enter__(self) -> "CpuMeter":
        self.machine_start, self.wall_start = self._machine_busy(), time.monotonic()
        self._sample()
        self.first = {pid: seconds for pid, (_, seconds) in self.last.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.machine_end, self.wall_end = self._machine_busy(), time.monotonic()

    def _sample_until_stopped(self) -> None:
        from django.db import connection

        while not self._stop.wait(1):
            self._sample()
        connection.close()  # this thread's own

    def _sample(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            postgres = {pid for (pid,) in cursor.fetchall()}
        for pid, parent, group, seconds in self._processes():
            if group == self.server_pid:
                self.last[pid] = ("gunicorn", seconds)
            elif pid == self.locust_pid or parent == self.locust_pid:
                self.last[pid] = ("locust", seconds)
            elif pid in postgres:
                self.last[pid] = ("PostgreSQL", seconds)

    def _processes(self):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # gone
                # After the command: state, ppid, pgrp, ... utime (12th), stime (13th).
                yield int(entry.name), int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / self.ticks

    def _machine_busy(self) -> float:
        values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        return (sum(values[:8]) - idle) / self.ticks

    def summary(self) -> str:
        used: dict[str, float] = {}
        for pid, (kind, seconds) in self.last.items():
            used[kind] = used.get(kind, 0.0) + seconds - self.first.get(pid, 0.0)
        wall = self.wall_end - self.wall_start
        busy = self.machine_end - self.machine_start
        others = max(busy - sum(used.values()), 0.0)
        capacity = wall * (os.cpu_count() or 1)
        parts = ", ".join(f"{kind} {seconds:.0f}" for kind, seconds in sorted(used.items()))
        return (
            f"CPU during the run ({wall:.0f}s x {os.cpu_count()} CPUs = {capacity:.0f} CPU-s): busy {busy:.0f} CPU-s "
            f"({busy / capacity:.0%}); {parts}; other processes on the machine {others:.0f} ({others / capacity:.0%})"
        )


def create_database(url: str, *, drop_first: bool) -> None:
    """Create the load database if it does not exist yet (national_data.build() migrates it)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres", dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        if drop_first:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", flush=True)
    admin.close()


def prepare_users(count: int, password: str) -> dict:
    """Practice managers of migrations with work left (each with up to 20 of their task items,
    done or to do, and their revisions), and delivery-partner users with known passwords."""
    from django.apps import apps
    from django.utils import timezone

    from migrations_app.models import (
        ChecklistItem,
        DeliveryPartner,
        ItemKind,
        ItemStatus,
        Membership,
        PracticeMigration,
        Role,
        User,
    )

    chooser = random.Random(47)
    # Delivery partners must sign in with a second factor once it exists: give each a device.
    with_devices = apps.is_installed("django_otp.plugins.otp_totp")

    practice = []
    migrations = (
        PracticeMigration.objects.in_progress()
        .filter(go_live_on__gte=timezone.localdate())
        .select_related("practice")
        .order_by("pk")[:count]
    )
    for migration in migrations:
        manager = Membership.objects.get(practice=migration.practice, role=Role.PRACTICE_MANAGER).user
        tasks = list(
            ChecklistItem.objects.filter(
                migration=migration, kind=ItemKind.TASK, status__in=[ItemStatus.TO_DO, ItemStatus.DONE]
            ).values("pk", "status", "revision")
        )
        items = chooser.sample(tasks, min(20, len(tasks)))
        practice.append(
            {
                "email": manager.email,
                "password": password,
                "migration_id": migration.pk,
                "items": [
                    {"id": item["pk"], "done": item["status"] == ItemStatus.DONE, "revision": item["revision"]}
                    for item in items
                ],
                # A practice manager has a device only if one was set up by hand; then it is used.
                "totp_key": _device_key(manager, create=False) if with_devices else None,
            }
        )

    partners = list(DeliveryPartner.objects.filter(name__startswith="Bench ").order_by("name"))
    delivery_partner = []
    for number in range(count):
        user, created = User.objects.get_or_create(
            email=f"load.dp{number:03d}@bench.localhost", defaults={"full_name": f"Load DP {number:03d}"}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
            Membership.objects.create(
                user=user, role=Role.DELIVERY_PARTNER, delivery_partner=partners[number % len(partners)]
            )
        delivery_partner.append(
            {
                "email": user.email,
                "password": password,
                "totp_key": _device_key(user, create=True) if with_devices else None,
            }
        )
    # Sign-in failures of an earlier, interrupted run must not lock these accounts out.
    if apps.is_installed("axes"):
        from django.core.management import call_command

        call_command("axes_reset", stdout=io.StringIO())
    return {"practice": practice, "delivery_partner": delivery_partner}


def _device_key(user, *, create: bool) -> str | None:
    """The hex key of the user's confirmed TOTP device; with `create`, one is made if none exists."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None and create:
        device = TOTPDevice.objects.create(user=user, name="Load run", confirmed=True)
    return device.key if device else None


def collect_static(environment: dict) -> None:
    """collectstatic as the Dockerfile runs it (manifest and compressed copies, which DEBUG off
    needs), unless its manifest is newer than every source file: it takes a minute or more."""
    from django.conf import settings
    from django.contrib.staticfiles import finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    newest = max(
        (
            os.path.getmtime(storage.path(path))
            for finder in finders.get_finders()
            for path, storage in finder.list(ignore_patterns=[])
        ),
        default=0,
    )
    if manifest.exists() and manifest.stat().st_mtime > newest:
        print("static files: collected already (manifest newer than every source file)")
        return
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=environment,
        check=True,
    )
    print(f"static files: collectstatic with manifest and compressed copies, {time.perf_counter() - started:.0f}s")


def production_environment(database_url: str) -> dict:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # As behind the production TLS proxy: locust sends X-Forwarded-Proto: https and an
        # X-Forwarded-For of one address per person, as the proxy would.
        "DJANGO_TRUSTED_PROXY_COUNT": "1",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": BROKER_QUEUE,
        "LOG_LEVEL": "WARNING",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, workers: int, environment: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as log_file:
        return subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--config",
                "config/gunicorn.conf.py",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
            ],
            cwd=BASE_DIR,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one in stop()
        )


def wait_until_healthy(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline, answer = time.monotonic() + 60, "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return
        except urllib.error.HTTPError as error:  # 503: the database or the broker (Redis) is unreachable
            answer = f"{error.code} {error.read().decode(errors='replace')}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            answer = str(error)
        time.sleep(0.5)
    stop(server)
    raise SystemExit(f"gunicorn's /healthz did not answer 200 within 60 s (last: {answer}):\n{log.read_text()}")


def stop(server: subprocess.Popen) -> None:
    """Stop gunicorn's master and workers: TERM to its process group, KILL if it lingers."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def empty_queue() -> None:
    """Drop the sign-off requests the ticks queued: no worker consumes this run's queue."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    keys = list(client.scan_iter(f"*{BROKER_QUEUE}*"))
    if keys:
        client.delete(*keys)


def describe_setup(arguments, port: int) -> str:
    return (
        f"serving: gunicorn {arguments.workers} threaded workers (config/gunicorn.conf.py) on 127.0.0.1:{port}, "
        "DJANGO_DEBUG=false, "
        f"PostgreSQL {urlsplit(arguments.database_url).path.lstrip('/')} on loopback (CONN_MAX_AGE 60), "
        f"static files by WhiteNoise, {os.cpu_count()} CPUs shared with PostgreSQL and locust\n"
        f"load: {arguments.users} users ({arguments.spawn_rate:g}/s), {arguments.run_time}; "
        f"practice users : delivery partners = 4 : 1, each waiting {arguments.think} s between requests"
    )


def report(prefix: Path, requests_file: Path, server_log: Path, locust_log: Path) -> bool:
    """Print the figures from locust's CSV (the whole run) and, from the log of every request,
    the same after the last person signed in; then whether they meet the targets."""
    with open(f"{prefix}_stats.csv", newline="") as stats_file:
        rows = list(csv.DictReader(stats_file))
    with open(f"{prefix}_failures.csv", newline="") as failures_file:
        failures = list(csv.DictReader(failures_file))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    print("\nWhole run (locust's CSV; its percentiles are rounded to 2 significant figures):")
    print_table(
        [
            (
                "all requests" if row["Name"] == "Aggregated" else row["Name"],
                int(row["Request Count"]),
                int(row["Failure Count"]),
                float(row["Requests/s"]),
                row["50%"],
                row["95%"],
                row["99%"],
            )
            for row in rows
        ]
    )
    errors = int(total["Failure Count"])
    print(f"throughput: {float(total['Requests/s']):.1f} requests/s; errors: {errors}")
    for failure in failures:
        print(f"  error x{failure['Occurrences']}: {failure['Method']} {failure['Name']}: {failure['Error']}")

    requests = [line.split("\t") for line in requests_file.read_text().splitlines()]
    signed_in = max(
        float(start) + float(ms) / 1000 for start, name, ms, _ in requests if any(step in name for step in SIGN_IN)
    )
    steady = [(name, float(ms), failed == "1") for start, name, ms, failed in requests if float(start) > signed_in]
    steady_seconds = max(float(start) for start, *_ in requests) - signed_in
    by_name: dict[str, list] = {}
    for name, ms, failed in steady:
        by_name.setdefault(name, []).append((ms, failed))
    by_name["all requests"] = [(ms, failed) for _, ms, failed in steady]
    print(f"\nAfter everyone signed in ({steady_seconds:.0f}s, exact percentiles):")
    steady_rows = [
        (
            name,
            len(samples),
            sum(failed for _, failed in samples),
            len(samples) / steady_seconds,
            *(percentile(sorted(ms for ms, _ in samples), share) for share in (0.5, 0.95, 0.99)),
        )
        for name, samples in sorted(by_name.items(), key=lambda entry: (entry[0] == "all requests", entry[0]))
    ]
    print_table(steady_rows)

    for name, log in (("server", server_log), ("locust", locust_log)):
        lines = log.read_text().splitlines()
        logged = [number for number, line in enumerate(lines) if "ERROR" in line]
        if logged:
            # The first error record: its first line and the end of its traceback (up to the next record).
            record = [lines[logged[0]]]
            for line in lines[logged[0] + 1 :]:
                if LOG_RECORD_START.match(line):
                    break
                record.append(line)
            shown = record[:1] + (["  ..."] if len(record) > 13 else []) + record[1:][-12:]
            print(f"{name} log: {len(logged)} errors; the first:\n    " + "\n    ".join(shown))

    print()
    met = errors == 0
    print(f"target no errors: {'met' if met else 'MISSED'} ({errors})")
    whole = {row["Name"]: row["95%"] for row in rows}
    after = {row[0]: row[5] for row in steady_rows}
    for name, p95 in whole.items():
        kind = "tick" if "(tick" in name else "dashboard" if "(dashboard)" in name else None
        if kind and p95 not in ("", "N/A"):
            ok = float(p95) < TARGETS[kind]
            met &= ok
            steady_p95 = f"{after[name]:.0f} ms" if name in after else "no requests"
            print(
                f"target p95 < {TARGETS[kind]} ms, {name}: whole run {p95} ms {'met' if ok else 'MISSED'}; "
                f"after sign-in {steady_p95}"
            )
    return met


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def print_table(rows: list[tuple]) -> None:
    width = max(len(row[0]) for row in rows)
    headings = ("count", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms")
    print(f"{'request':<{width}}" + "".join(f"  {heading:>6}" for heading in headings))
    for name, count, failed, rate, *percentiles in rows:
        figures = "".join(f"  {float(value):>6.0f}" for value in percentiles)
        print(f"{name:<{width}}  {count:>6}  {failed:>6}  {rate:>6.1f}{figures}")


if __name__ == "__main__":
    main()
