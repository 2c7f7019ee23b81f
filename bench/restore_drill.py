"""Restore drill: back up the database named by DATABASE_URL, restore the backup into a fresh
database, and check that every table came back with exactly the rows it had.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench .venv/bin/python bench/restore_drill.py

1. Opens a REPEATABLE READ transaction on the source and exports its snapshot, then runs
   `pg_dump -Fc --snapshot=...`: the dump and the source counts see the same instant, so a
   database in use still compares exactly.
2. Counts the rows of every table: each Django model's (the app's, Django's own, django-axes',
   django-otp's, many-to-many tables included), django_migrations, and any other table in the
   schema, so that nothing is left out unseen.
3. Creates a scratch database, `pg_restore`s the dump into it (stopping at the first error),
   counts the same tables there, prints a table (table, source rows, restored rows, match),
   and drops the scratch database whatever happened.

Exit status 1 when a count differs or a table is missing. It needs the PostgreSQL client tools
(pg_dump and pg_restore of the server's major version) and a role that may create databases,
which is why it is a script for whoever runs the backups, not a management command in the app:
the app's own database role should not be able to create or drop databases, and the app image
carries no PostgreSQL client tools. README.md ("Backups") says how it fits in.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Development settings, asked for as `make bench` does (production, the default, needs a secret key).
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from django.apps import apps  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.recorder import MigrationRecorder  # noqa: E402
from psycopg2 import sql  # noqa: E402

TABLES_IN_SCHEMA = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("The restore drill is for PostgreSQL: set DATABASE_URL=postgres://...")
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on PATH: install the PostgreSQL client tools.")
    source_url = os.environ["DATABASE_URL"]
    source_name = connection.settings_dict["NAME"]
    scratch_name = f"{source_name}_restore_drill_{datetime.now(UTC):%Y%m%d%H%M%S}"
    scratch_url = _with_database(source_url, scratch_name)

    with tempfile.TemporaryDirectory(prefix="restore-drill-") as directory:
        dump = Path(directory) / f"{source_name}.dump"
        started = time.perf_counter()
        source_counts = dump_with_counts(source_url, dump)
        dumped = time.perf_counter()
        print(f"pg_dump -Fc {source_name}: {dump.stat().st_size / 1e6:.1f} MB in {dumped - started:.1f}s", flush=True)
        create_database(source_url, scratch_name)
        try:
            subprocess.run(
                ["pg_restore", "--exit-on-error", "--jobs", "2", "--dbname", scratch_url, str(dump)], check=True
            )
            restored = time.perf_counter()
            print(f"pg_restore into {scratch_name}: {restored - dumped:.1f}s", flush=True)
            restored_counts = count_rows(scratch_url, list(source_counts))
        finally:
            drop_database(source_url, scratch_name)
            print(f"dropped {scratch_name}")
    sys.exit(0 if compare(source_counts, restored_counts) else 1)


def tables_to_check() -> list[str]:
    """Every model's table (auto-created many-to-many tables included) and django_migrations."""
    tables = {MigrationRecorder.Migration._meta.db_table}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            tables.add(model._meta.db_table)
    return sorted(tables)


def dump_with_counts(source_url: str, dump: Path) -> dict[str, int | None]:
    """Dump the source with pg_dump -Fc and count its rows, both in one snapshot. A model table
    that the source does not have (a migration not applied there) counts as None."""
    source = psycopg2.connect(source_url)
    try:
        source.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with source.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            subprocess.run(["pg_dump", "-Fc", "--snapshot", snapshot, "--file", str(dump), source_url], check=True)
            cursor.execute(TABLES_IN_SCHEMA)
            present = {name for (name,) in cursor.fetchall()}
            tables = sorted(set(tables_to_check()) | present)
            return {table: _count(cursor, table) if table in present else None for table in tables}
    finally:
        source.rollback()
        source.close()


def count_rows(url: str, tables: list[str]) -> dict[str, int | None]:
    restored = psycopg2.connect(url)
    try:
        with restored.cursor() as cursor:
            cursor.execute(TABLES_IN_SCHEMA)
            present = {name for (name,) in cursor.fetchall()}
            counts = {table: _count(cursor, table) if table in present else None for table in tables}
            counts |= {table: _count(cursor, table) for table in sorted(present - set(tables))}
            return counts
    finally:
        restored.close()


def _count(cursor, table: str) -> int:
    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    return cursor.fetchone()[0]


def compare(source: dict[str, int | None], restored: dict[str, int | None]) -> bool:
    """Print the table of counts; True when every table matches."""
    width = max(len(table) for table in source | restored)
    print(f"\n{'table':<{width}}  {'source rows':>12}  {'restored rows':>13}  match")
    all_match = True
    for table in sorted(source | restored):
        before, after = source.get(table), restored.get(table)
        match = before == after
        all_match &= match
        shown = ["absent" if count is None else f"{count:,}" for count in (before, after)]
        print(f"{table:<{width}}  {shown[0]:>12}  {shown[1]:>13}  {'yes' if match else 'NO'}")
    counted = [count for count in source.values() if count is not None]
    print(f"\n{len(counted)} tables, {sum(counted):,} rows in the source: {'all match' if all_match else 'MISMATCH'}")
    return all_match


def create_database(admin_url: str, name: str) -> None:
    with _autocommit(admin_url) as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    if "_restore_drill_" not in name:  # never anything but a scratch database of ours
        raise ValueError(f"refusing to drop {name}")
    with _autocommit(admin_url) as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class _autocommit:
    """A cursor on the server's maintenance database, outside any transaction (CREATE/DROP DATABASE)."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg2.connect(_with_database(url, "postgres"))
        self.connection.autocommit = True

    def __enter__(self):
        self.cursor = self.connection.cursor()
        return self.cursor

    def __exit__(self, *exc_info) -> None:
        self.cursor.close()
        self.connection.close()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


if __name__ == "__main__":
    main()
