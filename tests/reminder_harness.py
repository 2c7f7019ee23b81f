"""The real thing, run from a test or a bench script: an SMTP server that catches mail on a loopback
port (aiosmtpd), and Celery worker and beat processes started the way `make worker` and `make beat`
start them, against the broker and database of the caller.

The processes run with their clock shifted (SHIFT_CLOCK_SECONDS, see tests/shifted_clock.py) to
07:00 on a working day in London, so the day's digests are due whatever the real date and time.
Used by tests/test_reminders_e2e.py and bench/reminder_faults.py.
"""

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import redis
from aiosmtpd.controller import Controller

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll until `condition()` holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@dataclass(frozen=True)
class Caught:
    message_id: str
    to: str
    subject: str


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it accepts. `delay` slows every recipient
    command (a server under load); `refusing` answers every message with 451 (try again later)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.refusing = False
        self.refused = 0
        # How many clients are waiting on a (delayed) RCPT now: a worker killed then has its
        # message in flight, not yet accepted.
        self.in_rcpt = 0
        # Seconds to keep a client waiting for "250" after its message was accepted: a worker
        # killed then dies between the server's acceptance and its own record of it.
        self.hold_after_accept = 0.0
        self.held = 0
        self.port = free_port()
        self._caught: list[Caught] = []
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpSink":
        self._controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def keep(self, content: bytes, recipients: list[str]) -> None:
        message = message_from_bytes(content)
        subject = str(make_header(decode_header(message["Subject"] or "")))
        with self._lock:
            for recipient in recipients:
                self._caught.append(Caught(message["Message-ID"], recipient, subject))

    def caught(self, subject_starts: str = "") -> list[Caught]:
        with self._lock:
            return [each for each in self._caught if each.subject.startswith(subject_starts)]

    def per_recipient(self, subject_starts: str = "") -> Counter:
        return Counter(each.to for each in self.caught(subject_starts))


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        self.sink.in_rcpt += 1
        try:
            if self.sink.delay:
                await asyncio.sleep(self.sink.delay)
        finally:
            self.sink.in_rcpt -= 1
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.sink.refusing:
            self.sink.refused += 1
            return "451 4.3.0 Try again later"
        self.sink.keep(envelope.content, list(envelope.rcpt_tos))
        if self.sink.hold_after_accept:
            self.sink.held += 1
            try:
                await asyncio.sleep(self.sink.hold_after_accept)
            finally:
                self.sink.held -= 1
        return "250 Message accepted for delivery"


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is connected to (in a test: the test database)."""
    credentials = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings_dict['NAME']}"


def forget_queue(broker: "redis.Redis", queue: str) -> None:
    """Delete a queue and the unacknowledged messages taken from it (a killed worker's), which
    Redis would otherwise put back on it an hour later."""
    broker.delete(queue)
    for tag, raw in broker.hgetall("unacked").items():
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError):
            continue
        if routing_key == queue:
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)


def shift_to(moment: datetime) -> float:
    """Seconds to add to the real clock to read `moment` now."""
    return moment.timestamp() - time.time()


class Celery:
    """Worker and beat processes of this project, each in its own process group (so a SIGKILL
    reaches the worker's pool too), with their output in `log_dir`."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def _start(self, name: str, arguments: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [PYTHON, "-m", "tests.shifted_clock", "-A", "config", *arguments],
            cwd=PROJECT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.processes.append(process)
        return process

    def worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen:
        return self._start(
            name,
            [
                "worker",
                f"--hostname={name}-{os.getpid()}@%h",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )

    def beat(self, name: str = "beat") -> subprocess.Popen:
        return self._start(name, ["beat", "--loglevel=INFO", f"--schedule={self.log_dir / (name + '-schedule')}"])

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Signal the process and everything it started (a worker's pool)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        if sig == signal.SIGKILL:
            process.wait(10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(process)
            # A worker stopped with SIGTERM leaves its pool to exit after it; make sure none linger.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.log.close()

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def sweeps_finished(self, worker: str = "worker") -> int:
        """How many sweeps the worker process `worker` has run to the end (each logs "Reminder
        sweep: ..." as it finishes, see reminders/claims.py)."""
        return self.log(worker).count("Reminder sweep:")

    def settled(self, worker: str = "worker") -> bool:
        """Whether every task the worker `worker` has received so far has finished (succeeded,
        failed, or handed back for a retry), by its log."""
        log = self.log(worker)
        received = len(re.findall(r"Task \S+\[[0-9a-f-]+\] received", log))
        finished = len(re.findall(r"Task \S+\[[0-9a-f-]+\] (?:succeeded|retry|raised|failed)", log))
        return finished >= received

    def wait_for_sweeps(self, count: int, worker: str = "worker", timeout: float = 30) -> bool:
        """Poll until the worker has run `count` more sweeps than it had when called, and finished
        every task it received by then: what those sweeps queued (nothing, when all is sent) has
        been sent. Whether that happened within `timeout` seconds. Beat sweeps every second in the
        tests, so this is the wait for "a few more sweeps send nothing more", without a fixed sleep."""
        target = self.sweeps_finished(worker) + count
        return wait_for(lambda: self.sweeps_finished(worker) >= target and self.settled(worker), timeout=timeout)
