"""The reminder sweep and its sends over the national data set (bench/national_data.py: 7,000
migrations, 784,000 items), at 07:05 London time on a working day.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/reminder_sweep.py

Prints the time, queries and peak Python memory (tracemalloc) of the sweep (who gets a digest,
and claiming them), then of sending every digest in the batches the sweep queues, run by
--workers processes as a Celery worker's pool would, with an e-mail backend that renders each
message to bytes and drops it. The day's digest rows are deleted first,
so every run claims afresh. Target: under 60 s in all, queries that grow with the number of
recipients (never with the number of items), memory flat from the first batch to the last.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import tracemalloc
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Development settings, asked for as `make bench` does (production, the default, needs a secret key).
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker_bench")

import django  # noqa: E402

django.setup()

import national_data  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.mail.backends.base import BaseEmailBackend  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402

from migrations_app import working_days  # noqa: E402
from migrations_app.models import ChecklistItem, Delivery  # noqa: E402
from migrations_app.reminders import claims, sending, tasks  # noqa: E402


class RenderingBackend(BaseEmailBackend):
    """Renders every message as SMTP would send it, counts it, keeps nothing."""

    sent = 0
    sent_bytes = 0

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            RenderingBackend.sent_bytes += len(message.message().as_bytes())
            RenderingBackend.sent += 1
        return len(email_messages)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def digest_day_on_or_after(day: date) -> date:
    while not working_days.is_working_day(day):
        day += timedelta(days=1)
    return day


TARGET_SECONDS = 60
# tracemalloc slows Python code several times over: memory is traced on one batch in ten, and the
# time is that of the whole run, traced batches included.
TRACE_EVERY = 10


def send_batch(numbered: tuple[int, list[int]]) -> tuple[int, int | None, int, int]:
    """One worker's task: (queries, peak bytes or None, e-mails, bytes rendered) for one batch."""
    number, batch = numbered
    counter = QueryCounter()
    sent, sent_bytes = RenderingBackend.sent, RenderingBackend.sent_bytes
    traced = number % TRACE_EVERY == 0
    if traced:
        tracemalloc.start()
    with connection.execute_wrapper(counter):
        sending.send_deliveries(batch)
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return counter.count, peak, RenderingBackend.sent - sent, RenderingBackend.sent_bytes - sent_bytes


def start_worker() -> None:
    connections.close_all()  # each worker process opens its own connection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--on", type=date.fromisoformat, help="the working day to sweep (default: today or next)")
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="processes sending batches, like `celery worker --concurrency=4` (sends wait on the database and SMTP)",
    )
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    national_data.build()  # migrates; builds the data set only if it is not there
    on = arguments.on or digest_day_on_or_after(date.today())
    now = datetime.combine(on, clock(7, 5), tzinfo=ZoneInfo("Europe/London"))
    Delivery.objects.filter(kind=Delivery.Kind.DIGEST, key=on.isoformat()).delete()
    settings.EMAIL_BACKEND = f"{__name__}.RenderingBackend"
    settings.DEBUG = False  # as in production: no query log kept in memory, no template debug data
    batches: list[list[int]] = []
    tasks.send_reminder_emails.delay = batches.append  # collect the batches the sweep queues, to time them below
    items = ChecklistItem.objects.count()
    print(f"national data: {items} items; sweeping at {now:%A %d %B %Y %H:%M %Z}")

    counter = QueryCounter()
    tracemalloc.start()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = claims.sweep(now)
        sweep_seconds = time.perf_counter() - started
    _, sweep_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    connections.close_all()
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(arguments.workers, initializer=start_worker) as pool:
        per_batch = pool.map(send_batch, enumerate(batches), chunksize=1)
    send_seconds = time.perf_counter() - started

    recipients = len(result.queued)
    digests_of_the_day = Delivery.objects.filter(kind=Delivery.Kind.DIGEST, key=on.isoformat())
    outcomes = dict(digests_of_the_day.values_list("status").annotate(count=Count("pk")))
    listed = sum(digests_of_the_day.values_list("items_listed", flat=True))
    send_queries = sum(queries for queries, _, _, _ in per_batch)
    peaks = [peak for _, peak, _, _ in per_batch if peak is not None]
    sent = sum(count for _, _, count, _ in per_batch)
    rendered = sum(size for _, _, _, size in per_batch)
    mib = 1024 * 1024
    print(
        f"sweep: {sweep_seconds:.1f} s, {counter.count} queries, peak {sweep_peak / mib:.1f} MiB; "
        f"{recipients} digests claimed"
    )
    print(
        f"sends: {send_seconds:.1f} s with {arguments.workers} worker processes, {send_queries} queries in "
        f"{len(batches)} batches of up to {settings.REMINDER_BATCH_SIZE}"
    )
    half = len(peaks) // 2

    def median_of(values: list[int]) -> float:
        return statistics.median(values or [0]) / mib

    print(
        f"memory per batch (1 in {TRACE_EVERY} traced: {len(peaks)} batches): median {median_of(peaks):.1f} MiB, "
        f"first half {median_of(peaks[:half]):.1f}, second half {median_of(peaks[half:]):.1f}; "
        f"largest {max(peaks, default=0) / mib:.1f} MiB"
    )
    print(
        f"e-mails: {sent} sent ({rendered / mib:.0f} MiB rendered), {outcomes.get('nothing_due', 0)} with nothing "
        f"left to say, {outcomes.get('failed', 0)} failed; {listed} item mentions, largest digest "
        f"{max(digests_of_the_day.values_list('items_listed', flat=True), default=0)} items"
    )
    total_queries = counter.count + send_queries
    total_seconds = sweep_seconds + send_seconds
    print(
        f"total: {total_seconds:.1f} s, {total_queries} queries = "
        f"{total_queries / max(recipients, 1):.2f} per recipient, "
        f"{total_queries / max(listed, 1):.3f} per item mentioned"
    )
    # Per recipient: two (lock, record) plus the batch's three shared by up to 50; never per item.
    met = total_seconds < TARGET_SECONDS and total_queries <= 3 * recipients + 20
    print(f"target (under {TARGET_SECONDS} s, about 2 queries per recipient): {'met' if met else 'MISSED'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
