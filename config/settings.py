"""Settings for the GP practice migration tracker, read from the environment.

Production is the default: DJANGO_DEBUG=true asks for development (make run and make test set
it). In either mode the app runs on an embedded default unless told otherwise: a SQLite file and
a filesystem Celery broker under var/, and e-mail printed to the console. Set DATABASE_URL and
CELERY_BROKER_URL to run the same code on PostgreSQL and Redis. Every variable is documented in
.env.example.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
VAR_DIR.mkdir(exist_ok=True)
# A .env beside manage.py is read when present; variables already in the environment win over it.
# DJANGO_ENV_FILE names another file: the settings tests point it at one of their own, so that a
# developer's .env cannot change what they see.
_env_file = Path(os.environ.get("DJANGO_ENV_FILE", BASE_DIR / ".env"))
if _env_file.exists():
    env.read_env(_env_file)

# Production unless development is asked for with DJANGO_DEBUG=true (`make run`, `make test` and
# every other Makefile target that runs Django ask, and so does the test run itself: [tool.pytest_env]
# in pyproject.toml). A container or a shell that forgot the variable gets production, which refuses
# to start without a secret key and a host list, rather than a public key that signs its links.
DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="development-only-not-secret")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
else:
    # Production refuses to start on a guessable key or an open host list.
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    _development = "For development, set DJANGO_DEBUG=true (make run and make test do)."
    if not SECRET_KEY:
        raise ImproperlyConfigured(f"DJANGO_SECRET_KEY must be set in production mode, the default. {_development}")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(f"DJANGO_ALLOWED_HOSTS must be set in production mode, the default. {_development}")

# The reverse proxies in front of the app (TLS terminator, load balancer), each of which appends the
# address it received the request from to X-Forwarded-For. With 0, the default, the client is the
# connection's address (REMOTE_ADDR) and X-Forwarded-* headers are the client's own claims, ignored:
# trusting them on a port the client can reach directly would let anyone pick the address the
# per-address sign-in limit counts. With N, the client is the Nth address from the right of
# X-Forwarded-For (migrations_app.audit.client_ip) and the proxy's X-Forwarded-Proto says whether
# the request came over HTTPS. Set it only where nothing but those proxies can reach the app.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("DJANGO_TRUSTED_PROXY_COUNT must be 0 or more.")
# Its predecessor trusted the last X-Forwarded-For entry by default in production: refuse it rather
# than silently read its "true" as no proxy at all.
if "DJANGO_BEHIND_TLS_PROXY" in os.environ:
    raise ImproperlyConfigured(
        "DJANGO_BEHIND_TLS_PROXY is replaced by DJANGO_TRUSTED_PROXY_COUNT: the number of proxies in front "
        "of the app (1 behind one TLS proxy). Set that and remove DJANGO_BEHIND_TLS_PROXY."
    )

# Transport and cookie security. In production the app sits behind TLS; cookies carry the
# __Host- prefix, which browsers accept only from a secure origin, for the whole host, no Domain.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Health checks come from inside the cluster over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Sends "preload" (eligibility only: submitting the domain to browsers' lists is a separate step).
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Content Security Policy: everything from our own origin, no inline script or style, no
# framing. htmx is configured (meta htmx-config in base.html) to need neither eval nor inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

INSTALLED_APPS = [
    # django.contrib.admin, with our site (migrations_app/admin_site.py).
    "migrations_app.admin_site.TrackerAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "django_otp",
    "migrations_app.two_factor_app.TwoFactorDevicesConfig",  # django_otp.plugins.otp_totp, named for the admin
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "migrations_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cache-Control: no-store, private on every response. Right after WhiteNoise, which answers static
    # files with their own headers first, so that redirects made by the middleware below (time-outs,
    # a missing slash) carry it too.
    "migrations_app.middleware.PrivatePagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "migrations_app.sessions.TwoFactorDeviceMiddleware",  # django-otp's OTPMiddleware
    "migrations_app.middleware.ResolvedUserMiddleware",
    # Django's LoginRequiredMiddleware, back to the page a person was on (not to a form's POST).
    "migrations_app.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "migrations_app.middleware.SessionTimeoutMiddleware",
    "migrations_app.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "migrations_app.middleware.NotFoundPageMiddleware",
    # Last, so that it sees the lock-out django-axes' backend flags during the view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "migrations_app.navigation.navigation",
            ],
        },
    },
]

# Database: SQLite file under var/ unless DATABASE_URL says otherwise.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tracker.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        "transaction_mode": "IMMEDIATE",
    }
    # Tests use a file too, not SQLite's shared in-memory database: only a file gives threads
    # (the live server, concurrency tests) the same locking as the running app. One per test
    # process, so that runs side by side do not share it; the test runner deletes it after.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-tracker-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # No just-in-time compilation: the app's queries are short, and the dashboard's (whose
        # correlated subqueries, run only for rows not counted today, inflate its estimated cost
        # past jit_above_cost) spent 66 ms compiling to run in 13 (EXPLAIN ANALYZE, 700 rows).
        # Index reads priced as what they are here, a page in memory or on SSD (random_page_cost
        # 1.1, not the default 4, which assumes spinning disks): with 4, a migration's 131 items
        # were joined to their owners and signers by hashing the whole user table, 4 ms a page
        # and growing with the country, instead of 131 index look-ups in 1.2 ms.
        # The statements prepared on the server (DATABASE_PREPARED_STATEMENTS below, the only ones
        # this app prepares) planned once, for any values: each reads one session, person, item or
        # migration by its key. PostgreSQL's default would plan the tick's counts UPDATE again on
        # every run (0.6 ms), where its generic plan runs in 0.45 ms against 0.25 ms of the other.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = (
            f"{options.get('options', '')} -c jit=off -c random_page_cost=1.1 -c plan_cache_mode=force_generic_plan"
        ).strip()
# The hot statements prepared on the server (models/compiled.py: prepared()), where connections are kept.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "migrations_app.User"
AUTH_PASSWORD_VALIDATORS = [
    # The tracker's people have an e-mail address and a full name (no username or first and last names).
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {"NAME": "migrations_app.passwords.PersonalPartsValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
CSRF_FAILURE_VIEW = "migrations_app.views.errors.csrf_failure"
LOGIN_REDIRECT_URL = "migrations:home"
LOGOUT_REDIRECT_URL = "login"
# django-axes checks every sign-in before the password does, and counts failures.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "migrations_app.sessions.UserBackend"]

# Failed sign-ins. An account is locked for a while after SIGN_IN_FAILURE_LIMIT failures
# (django-axes; signing in to it successfully starts its count again). An address is locked after
# SIGN_IN_ADDRESS_FAILURE_LIMIT failures across all accounts in the same period, counted from
# django-axes' failure log (migrations_app/views/signin.py). That limit is higher because a whole
# practice or CSU signs in from one NHS network address. Someone else's successful sign-in never
# resets it: if it did, anyone with an account could clear the count of the account they are guessing.
AXES_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=10)
SIGN_IN_ADDRESS_FAILURE_LIMIT = env.int("SIGN_IN_ADDRESS_FAILURE_LIMIT", default=100)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGN_IN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
# django-axes warns when it does not lock addresses itself (axes.W006). Addresses are locked, by
# SignInView with their own higher limit, from django-axes' own failure log; tests/test_signin_security.py
# shows it, including under parallel attempts.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The covering index of checklist items (INCLUDE columns) is for PostgreSQL; SQLite builds it
    # as a plain index and says so (models.W040) on every command of the embedded default.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Failures are kept this many days (the address limit reads only the last SIGN_IN_LOCKOUT_MINUTES).
SIGN_IN_FAILURE_LOG_DAYS = env.int("SIGN_IN_FAILURE_LOG_DAYS", default=30)
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
# Attempts during a lock-out are refused unchecked and do not extend it, so an attacker cannot
# keep a real user locked out for ever.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "migrations_app.views.signin.locked_out"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "migrations_app.audit.client_ip"

# Sessions: ended after 30 minutes without a request, and 12 hours after sign-in whatever happens.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_HOURS", default=12) * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Django's database sessions, read by a statement the ORM writes once per process (migrations_app/sessions.py).
SESSION_ENGINE = "migrations_app.sessions"

# Two-factor sign-in (TOTP): required for the people access.two_factor_required names, open to all.
OTP_TOTP_ISSUER = "GP migration tracker"
# The admin never shows anyone's two-factor key or its QR code: whoever saw it could make that
# person's codes. A lost phone is handled by deleting the device, and its owner sets up a new one.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Third-party assets come straight from their npm packages (installed by `make install`), so
# nothing is loaded from a CDN and nothing vendored is committed.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("nhsuk", NODE_MODULES / "nhsuk-frontend" / "dist" / "nhsuk"),
    ("htmx", NODE_MODULES / "htmx.org" / "dist"),
]
# WhiteNoise reads every collected file when its middleware starts, unless it looks files up as they
# are asked for. Development (and the test run, whose DEBUG is switched off at run time, after these
# settings) looks them up: otherwise each test client would read a collected STATIC_ROOT again.
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "migrations_app.static_storage.StaticFilesStorage"  # WhiteNoise's, see there
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# The REST API (migrations_app/api/), under the same access rules as the pages: a personal API token
# in the Authorization header, or the browser's session (with its CSRF check on changes).
# JSON only, in development too: DRF's browsable API needs inline script, which the CSP refuses;
# /api/docs/ is the interactive documentation. Errors are RFC 9457 problem details. Throttled per
# token (per person for a session) and per address (the address limit is higher: a practice or CSU
# shares one NHS address); the counts are kept in the default cache (CACHES below), which every
# server process shares.
REST_FRAMEWORK = {
    # A personal API token first: a caller with no credentials gets 401 and WWW-Authenticate: Bearer.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "migrations_app.api.tokens.BearerToken",
        "migrations_app.api.authentication.SignedInSession",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "migrations_app.api.tokens.TokenScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON, refused past API_MAX_BODY_BYTES with a 413 before more than that is read.
    "DEFAULT_PARSER_CLASSES": ["migrations_app.api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "migrations_app.api.pagination.SignedCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": [
        "migrations_app.api.throttles.PersonRateThrottle",
        "migrations_app.api.throttles.AddressRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_THROTTLE_PERSON", default="120/minute"),
        "address": env("API_THROTTLE_ADDRESS", default="600/minute"),
    },
    "EXCEPTION_HANDLER": "migrations_app.api.problems.problem_response",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # No ?format=: JSON is the only format.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GP practice migration tracker API",
    "DESCRIPTION": (
        "The migrations you can see, as the dashboard lists them; each migration's phases, items (with their "
        "changes), milestones (with a preview of a replan) and event log; and the organisations you can see. "
        "Call it with a personal API token in the Authorization header (Bearer), made on your API tokens page, "
        "or from the browser with your session. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    # The schema is for people signed in, like every page.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_INCLUDE_SCHEMA": False,
    # Every operation may answer 401 (no credentials, or a token that does not work).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "migrations_app.api.tokens.document_unauthorized",
    ],
    # Swagger UI's files come from the drf-spectacular-sidecar package, served as our static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No call to swagger.io's online validator.
    # No deep links: Swagger UI writes each as a link inside the operation's button, which assistive
    # technology cannot reach (axe-core: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "validatorUrl": None},
}

# The largest request body the API reads, in bytes (a change is a few hundred).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)

# E-mail: printed to the console unless EMAIL_URL names an SMTP server.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="GP migration tracker <noreply@migration-tracker.localhost>")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Seconds to wait on the SMTP server before a send fails (and is retried): a hung server must not
# hold a worker, or a reminder's claim, for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Celery: kombu's filesystem transport under var/ unless CELERY_BROKER_URL says otherwise.
# (The folder transport needs no host; naming one keeps kombu from warning at every connection.)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    # The exchange table too: kombu's default is a "control" folder in the working directory.
    _control_dir = VAR_DIR / "celery" / "control"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_control_dir),
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
    }
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
else:
    # Redis hands an unacknowledged message (acks_late, worker killed) to another worker after this
    # long. Longer than any retry countdown, or a waiting retry would be delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

# Cache: the API's throttle counts, which every web process must share for a limit to hold.
# CACHE_URL when given (django-environ's forms: redis://host:6379/1, filecache:///path,
# locmemcache://). Otherwise, with a Redis broker, the same Redis server one database number above
# the broker's (so that clearing the cache can never drop queued tasks); on the embedded default, a
# folder under var/ that every process on this machine shares. The tests use per-process memory
# (pyproject.toml's pytest-env).
if env("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    _broker = urlsplit(CELERY_BROKER_URL)
    _broker_db = int(_broker.path.strip("/") or 0)
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": urlunsplit(_broker._replace(path=f"/{(_broker_db + 1) % 16}", query="")),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task that loses its broker connection mid-run is redelivered (acks_late); stop the first copy.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule, in UTC so that clock changes neither skip nor double a run. The reminder
# sweep runs every 5 minutes whatever the date; it decides from Europe/London local time whether
# the day's digests are due (REMINDER_DIGEST_HOUR), and it may run twice or overlap (a second beat).
# REMINDER_SWEEP_SECONDS replaces the 5 minutes by a short interval, for the end-to-end tests.
_sweep_seconds = env.int("REMINDER_SWEEP_SECONDS", default=0)
CELERY_BEAT_SCHEDULE: dict = {
    "sweep-reminders": {
        "task": "migrations_app.tasks.sweep_reminders",
        "schedule": timedelta(seconds=_sweep_seconds) if _sweep_seconds else crontab(minute="*/5"),
        # A sweep still queued when the next one is due is dropped rather than run late.
        "options": {"expires": 240},
    },
    # The dashboard's day figures (ChecklistProgress.count_day) go stale at local midnight, which is
    # 23:00 or 00:00 UTC: counted again within the quarter of an hour after it.
    "count-day": {
        "task": "migrations_app.tasks.count_day",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    "forget-old-sign-in-failures": {
        "task": "migrations_app.tasks.forget_old_sign_in_failures",
        "schedule": crontab(hour=3, minute=30),
    },
}

# Reminders (migrations_app/reminders.py).
# Local hour (Europe/London) from which the day's digests go out, on working days.
REMINDER_DIGEST_HOUR = env.int("REMINDER_DIGEST_HOUR", default=7)
# Seconds after which a claimed e-mail that no worker has reported on is queued again.
REMINDER_CLAIM_TIMEOUT = env.int("REMINDER_CLAIM_TIMEOUT", default=600)
# Hours after which a claimed e-mail still not sent is given up (marked failed): a digest is for its day.
REMINDER_GIVE_UP_HOURS = env.int("REMINDER_GIVE_UP_HOURS", default=12)
# Temporary SMTP failures: attempts in all, and the first wait in seconds (doubled each time, at most half an hour).
REMINDER_MAX_ATTEMPTS = env.int("REMINDER_MAX_ATTEMPTS", default=6)
REMINDER_RETRY_BACKOFF = env.int("REMINDER_RETRY_BACKOFF", default=60)
# E-mails per send task: each batch shares one SMTP connection and one read of what is due.
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", default=50)
# Days an e-mail's one-click unsubscribe link works (migrations_app/reminder_emails.py). The link
# is a credential in an e-mail that gets forwarded and archived; every e-mail brings a fresh one,
# and after this long the page sends the person to their reminder settings instead.
REMINDER_UNSUBSCRIBE_LINK_DAYS = env.int("REMINDER_UNSUBSCRIBE_LINK_DAYS", default=90)

# Scheduling (migrations_app/scheduling.py). Until a migration's end of old system access is agreed,
# it is expected this many days after go-live (the later guide keeps 90 days of read-only access;
# the 2019 edition had 45), and the items anchored on it are planned from that date.
OLD_SYSTEM_ACCESS_DAYS = env.int("OLD_SYSTEM_ACCESS_DAYS", default=90)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Security events: one JSON object a line, times in UTC (see migrations_app/audit.py).
        "security": {"()": "migrations_app.audit.SecurityEventFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "security": {"class": "logging.StreamHandler", "formatter": "security"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "security": {"handlers": ["security"], "level": "INFO", "propagate": False},
        # django-axes logs each failure itself; our security log records them once, without noise.
        "axes": {"level": "ERROR"},
    },
}
