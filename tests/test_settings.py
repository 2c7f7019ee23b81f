"""Settings come from the environment; production is the default and refuses unsafe values.

Each test starts Django in a subprocess with an environment of its own: no DJANGO_* variable from
the test run (which asks for development mode), and DJANGO_ENV_FILE pointing at a file of the
test's own, so that a developer's .env cannot change what it sees.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_SECRET_KEY": "a-long-random-production-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_ALLOWED_HOSTS": "tracker.example.nhs.uk",
}


@pytest.fixture
def env_file(tmp_path) -> Path:
    """The .env the subprocess reads: none unless the test writes it."""
    return tmp_path / ".env"


@pytest.fixture
def run_django(env_file):
    """Run `arguments` with manage.py, or Python `code` after django.setup(), in a clean environment."""

    def run(*arguments: str, code: str = "", **env: str) -> subprocess.CompletedProcess:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        environment |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_ENV_FILE": str(env_file)} | env
        command = ["manage.py", *arguments] if arguments else ["-c", f"import django\ndjango.setup()\n{code}"]
        return subprocess.run(
            [sys.executable, *command], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
        )

    return run


def test_without_DJANGO_DEBUG_the_app_is_in_production_and_refuses_to_start_without_a_secret_key(run_django):
    result = run_django(code="print('started')")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set in production mode" in result.stderr


def test_without_DJANGO_DEBUG_but_with_a_key_and_hosts_the_app_starts_with_debug_off(run_django):
    result = run_django(code="from django.conf import settings\nprint(settings.DEBUG)", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_required_setting(run_django, missing):
    production = {"DJANGO_DEBUG": "false"} | PRODUCTION
    del production[missing]

    result = run_django("check", **production)

    assert result.returncode != 0
    assert f"{missing} must be set in production mode, the default." in result.stderr


def test_development_mode_is_asked_for_with_DJANGO_DEBUG_true(run_django):
    result = run_django(code="from django.conf import settings\nprint(settings.DEBUG)", DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_a_dot_env_file_may_ask_for_development_and_the_environment_wins_over_it(run_django, env_file):
    env_file.write_text("DJANGO_DEBUG=true\n")
    code = "from django.conf import settings\nprint(settings.DEBUG)"

    from_file = run_django(code=code)
    overridden = run_django(code=code, DJANGO_DEBUG="false", **PRODUCTION)

    assert (from_file.returncode, from_file.stdout.strip()) == (0, "True"), from_file.stderr
    assert (overridden.returncode, overridden.stdout.strip()) == (0, "False"), overridden.stderr


def test_production_settings_with_no_DJANGO_DEBUG_pass_the_deployment_checklist(run_django):
    result = run_django("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


# --- the proxy in front of the app ----------------------------------------------------------------

CLIENT_ADDRESS_AND_SCHEME = """
from django.conf import settings
from django.test import RequestFactory
from migrations_app.audit import client_ip
request = RequestFactory().get(
    "/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.66", HTTP_X_FORWARDED_PROTO="https"
)
print(client_ip(request), request.scheme, getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is not None)
"""


def test_by_default_production_trusts_no_forwarded_header(run_django):
    result = run_django(code=CLIENT_ADDRESS_AND_SCHEME, DJANGO_DEBUG="false", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["198.51.100.9", "http", "False"]


def test_behind_a_trusted_proxy_production_takes_its_forwarded_address_and_scheme(run_django):
    result = run_django(
        code=CLIENT_ADDRESS_AND_SCHEME, DJANGO_DEBUG="false", DJANGO_TRUSTED_PROXY_COUNT="1", **PRODUCTION
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["203.0.113.66", "https", "True"]


def test_the_retired_proxy_setting_is_refused_rather_than_ignored(run_django):
    result = run_django(code="print('started')", DJANGO_BEHIND_TLS_PROXY="true", **PRODUCTION)

    assert result.returncode != 0
    assert "DJANGO_BEHIND_TLS_PROXY is replaced by DJANGO_TRUSTED_PROXY_COUNT" in result.stderr


# --- the embedded database ------------------------------------------------------------------------


def test_the_embedded_sqlite_database_runs_in_wal_mode(run_django, tmp_path):
    result = run_django(
        code="from django.db import connection\n"
        "cursor = connection.cursor()\n"
        "cursor.execute('PRAGMA journal_mode')\n"
        "print(cursor.fetchone()[0])",
        DJANGO_DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'tracker.sqlite3'}",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "wal"


CACHE_OF = "from django.conf import settings\nprint(settings.CACHES['default'])"


def test_with_a_redis_broker_the_cache_is_the_same_server_one_database_up(run_django):
    result = run_django(
        code=CACHE_OF, DJANGO_DEBUG="true", CACHE_URL="", CELERY_BROKER_URL="redis://broker.internal:6379/4"
    )

    assert result.returncode == 0, result.stderr
    assert "'BACKEND': 'django.core.cache.backends.redis.RedisCache'" in result.stdout
    assert "'LOCATION': 'redis://broker.internal:6379/5'" in result.stdout


def test_on_the_embedded_default_the_cache_is_a_folder_every_process_shares(run_django):
    result = run_django(code=CACHE_OF, DJANGO_DEBUG="true", CACHE_URL="", CELERY_BROKER_URL="filesystem://localhost/")

    assert result.returncode == 0, result.stderr
    assert "'BACKEND': 'django.core.cache.backends.filebased.FileBasedCache'" in result.stdout
    assert f"'LOCATION': '{ROOT / 'var' / 'cache'}'" in result.stdout


def test_CACHE_URL_wins_over_the_broker(run_django):
    result = run_django(
        code=CACHE_OF,
        DJANGO_DEBUG="true",
        CACHE_URL="redis://cache.internal:6380/2",
        CELERY_BROKER_URL="redis://broker.internal:6379/0",
    )

    assert result.returncode == 0, result.stderr
    assert "'LOCATION': 'redis://cache.internal:6380/2'" in result.stdout
