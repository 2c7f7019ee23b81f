# Two commands matter: `make run` (set up everything and serve with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The address in the links of e-mails and the calendar feed: where `make run` (or `serve`) serves,
# unless given (SITE_URL=https://tracker.example.org make run, behind a proxy). Worker and beat
# send the e-mails, so `make worker` and `make beat` need the same PORT or SITE_URL as `make serve`.
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: run setup install test test-browser lint fmt migrations-check worker beat serve bench security clean

# The settings default to production, which refuses to start without DJANGO_SECRET_KEY and
# DJANGO_ALLOWED_HOSTS; every target that runs Django asks for development mode. (A plain
# .venv/bin/pytest asks too: [tool.pytest_env] in pyproject.toml.)
DEVELOPMENT_TARGETS := run setup test test-browser migrations-check serve worker beat bench
$(DEVELOPMENT_TARGETS): export DJANGO_DEBUG = true

run: setup ## Set up (idempotent) and serve the app with a Celery worker and beat beside it.
	@echo "Serving on http://$(HOST):$(PORT)/, links in e-mails to $(SITE_URL) (Ctrl+C stops the web server, worker and beat)"
	@trap 'kill 0' INT TERM EXIT; \
	export SITE_URL='$(SITE_URL)'; \
	$(VENV)/bin/celery -A config worker --beat --loglevel=INFO --concurrency=2 & \
	$(PY) manage.py runserver $(HOST):$(PORT)

setup: install ## Install, migrate, load the guide and the demo data.
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_guide
	$(PY) manage.py seed_demo

install: $(VENV)/.installed static/build/nhsuk.css ## Python packages in .venv, front-end packages in node_modules.

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# NHS.UK frontend, htmx and axe-core come from the npm registry, pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# NHS.UK frontend's styles compiled without the CDN-hosted web fonts (see static/scss/nhsuk.scss).
static/build/nhsuk.css: node_modules/.installed static/scss/nhsuk.scss
	npm run --silent build

# The browser tests drive Debian's Chromium; install it when we can (root with apt-get).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install -y chromium"; exit 1; fi

# The suite runs in one process per core (pytest-xdist; each has its own test database, browser and
# live server); work is stolen between them, so the long tests do not end the run on one core.
PARALLEL := -n auto --dist worksteal

test: install $(CHROMIUM) ## Run the whole suite (SQLite and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL are set).
	$(VENV)/bin/pytest $(PARALLEL)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint Dockerfile

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

serve: install
	SITE_URL='$(SITE_URL)' $(PY) manage.py runserver $(HOST):$(PORT)

worker: install
	SITE_URL='$(SITE_URL)' $(VENV)/bin/celery -A config worker --loglevel=INFO

beat: install
	SITE_URL='$(SITE_URL)' $(VENV)/bin/celery -A config beat --loglevel=INFO

# The benchmarks, in order: the national data set first (built once, reused), then each script,
# every one run even when an earlier one fails or misses its target; the target fails at the end.
# They need PostgreSQL (and Redis): BENCH_DATABASE_URL is the national data set's database; the
# load run and the reminder fault scenarios make databases of their own on the same server.
# bench/locustfile.py is not in the list: bench/load.py runs it. BENCH_TEN_TIMES_DATABASE_URL, when
# set, names a database with ten times the data set (national_data.py --ten-times, built by hand:
# 25 minutes, 6 GB), where bench/dashboard.py measures how the national page grows.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tracker_bench
BENCH_TEN_TIMES_DATABASE_URL ?=
BENCH_SCRIPTS := national_data dashboard capacity gc_share reminder_sweep reminder_faults load restore_drill import

bench: install
	@failed=""; for script in $(BENCH_SCRIPTS); do \
	  printf '\n==> bench/%s.py\n' "$$script"; \
	  DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_TEN_TIMES_DATABASE_URL=$(BENCH_TEN_TIMES_DATABASE_URL) \
	    $(PY) bench/$$script.py || failed="$$failed $$script"; \
	done; \
	if [ -n "$$failed" ]; then echo "Failed or missed a target:$$failed"; exit 1; fi

# Static security analysis: bandit's medium and high findings in the product code (config in
# pyproject.toml). A finding reviewed as harmless carries "# nosec BXXX: reason" on its line.
security: install
	$(VENV)/bin/bandit -c pyproject.toml -r config migrations_app -ll

clean:
	rm -rf $(VENV) var staticfiles node_modules static/build

test-browser: install $(CHROMIUM)
	$(VENV)/bin/pytest $(PARALLEL) tests/browser
