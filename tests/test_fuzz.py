"""Generated input for every view, as every persona: no request may get a server error.

The routes come from the URLconf, so a new view is fuzzed without a change here. For each route,
persona and method (GET, POST) the test sends first the request a real page would make; if the
answer says the view is not reached (405, or sent to sign in) it moves on. Otherwise it sends the
route NUL in every field and parameter (PostgreSQL refuses it in text), then a few generated
requests: the field names the real forms and views read, mixed with random and repeated keys,
unicode, numbers too large for the database, very long text, an htmx header, around the real
ids and tokens of the demo migration. Django's admin is covered for its changelists, change pages
and our own admin views (not Django's generic add, delete and history pages).

Each request runs in a savepoint that is rolled back, with the persona's session cookie put back,
so requests do not depend on each other. Seeds are fixed: a failure comes back on every run, as
the smallest input Hypothesis could shrink it to. All failures of a persona are reported together.
The figures: `pytest tests/test_fuzz.py -s`, or the line "fuzz: N requests, M responses of 500 or
above" at the end of the run.
"""

import copy
import traceback
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, Phase, example, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from migrations_app.checklist_templates import guide_file as loader
from migrations_app.dashboard.rag import Rag
from migrations_app.dashboard.rows import GO_LIVE_NOT_AGREED, GO_LIVE_WINDOWS, SORTABLE, STATUSES
from migrations_app.models import ChecklistItem, Milestone, PracticeMigration, ReminderPreference
from migrations_app.reminders import emails as reminder_emails
from tests.access_routes import PERSONAS as ACCESS_PERSONAS
from tests.factories import PASSWORD, make_migration

pytestmark = pytest.mark.django_db

# Every persona of the access matrix, the anonymous visitor first.
PERSONAS = ["anonymous", *(persona for persona in ACCESS_PERSONAS if persona != "anonymous")]
METHODS = ("GET", "POST")
# Generated examples per route, persona and method, after the real request and the one with NUL in
# every field: some 4,000 requests in all, under a minute on this project's 2-core CI machine
# (SQLite or PostgreSQL) while nothing fails (a failure is then shrunk: more requests).
EXAMPLES = 2
# Django's admin: staff personas get its pages (fewer examples each: there are many); the others
# only its index, which sends them to sign in like every admin page. Django's generic add, delete
# and history pages are left out to keep the run short: Django's code, reached through our
# ModelAdmins' options, which the changelists and change pages exercise.
ADMIN_EXAMPLES = 2
ADMIN_SKIPPED = ("_add", "_delete", "_history")

# Items of the published guide the routes act on (see tests/access_routes.py).
TASK_KEY = "agree-go-live-date"
GATE_KEY = "technical-requirements-signed-off"
CLINICAL_GATE_KEY = "data-checking-sign-off"
ARCHIVED_KEY = "registration-links-checked"

HUGE = 99_999_999_999_999_999_999  # more than any database integer: an OverflowError on SQLite if it reached it


@dataclass(frozen=True)
class Repeated:
    """A long value, `text` `times` times: written out only when drawn, as Hypothesis prints its
    strategies' reprs."""

    text: str
    times: int


def written_out(value: "str | Repeated") -> str:
    return value.text * value.times if isinstance(value, Repeated) else value


AWKWARD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "١٢",  # Arabic-Indic digits: str.isdigit() and int() accept them
    "１２",  # full-width digits
    "²",  # a digit to isdigit(), not to int()
    "-1",
    "0",
    "1.5",
    "1e9",
    "NaN",
    "inf",
    "1_000",
    str(HUGE),
    "2147483648",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "%zz",
    "../../etc/passwd",
    "\u202egnp.exe",  # right-to-left override
    "😀",
    "\r\n\r\n",
    "null",
    "[]",
    Repeated("9", 5000),  # beyond the 4,300 digits Python's int() parses
    Repeated("x", 6000),  # past every max_length of the forms
    Repeated("é", 20_000),  # very long, and more bytes than characters
]
AWKWARD_QUERIES = [
    "",
    "&",
    "%",
    "%zz=1",
    "=",
    "a=%ff%fe",  # not UTF-8
    "page=%00",
    ";;",
    Repeated("x=1&", 1100),  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
]
ADMIN_ACTIONS = ["review_checklist_upgrade", "send_again", "delete_selected"]
ANY_PATH = "<any path>"  # a route of its own: a made-up URL, answered by the 404 page
NUL = "a\x00b"  # PostgreSQL refuses NUL in text: every live route gets it in every field once
NEXT_URLS = ["/", "//evil.example/", "https://evil.example/", "javascript:alert(1)", "/dashboard/", "\\\\evil.example"]


# --- the routes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its name for reverse() (None for an unnamed one, whose route has no
    parameters) and its parameters with their converters."""

    name: str | None
    route: str
    parameters: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        return self.name or self.route

    @property
    def in_admin(self) -> bool:
        return self.route.startswith("admin/")


def walk(patterns=None, namespace: str = "", prefix: str = "") -> Iterator[Route]:
    """Every URL pattern, through every include(), with its parameters."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            nested = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from walk(entry.url_patterns, nested, prefix + str(entry.pattern))
            continue
        assert isinstance(entry, URLPattern)
        converters = getattr(entry.pattern, "converters", {})
        regex_groups = entry.pattern.regex.groupindex
        parameters = tuple((name, converters.get(name)) for name in regex_groups)
        name = ":".join(part for part in (namespace, entry.name) if part) if entry.name else None
        yield Route(name, prefix + str(entry.pattern), parameters)


def fuzzed_routes(staff: bool) -> list[Route]:
    routes = [
        route
        for route in walk()
        if (route.name or not route.parameters)
        and not (route.in_admin and route.name and route.name.endswith(ADMIN_SKIPPED))
        and (staff or not route.in_admin or route.name == "admin:index")
    ]
    return [*routes, Route(None, ANY_PATH)]


# --- the demo data, and what the strategies draw from -------------------------------------------------


@dataclass(repr=False)
class Demo:
    """The persona's session and the ids, tokens and form values a real page would carry."""

    persona: str
    user: object
    cookies: object
    migration_ids: list[int]
    item_ids: list[int]
    revisions: list[int]
    version_ids: list[int]
    tokens: list[str]
    reset_links: list[tuple[str, str]]
    usernames: list[str]
    codes: list[str]
    choices: list[str]
    yaml_text: str
    milestone_dates: dict
    tally: Counter

    def __repr__(self) -> str:  # short: Hypothesis prints the strategies that hold it
        return f"Demo({self.persona!r})"


def make_demo(persona: str, request, tally: Counter) -> Demo:
    """The demo migration with a done task, a signed gate and an archived item; another practice's
    migration; a draft of the guide; calendar, unsubscribe and password-reset tokens; the persona
    signed in."""
    migration = request.getfixturevalue("migration")
    other = make_migration(template_version=migration.template_version)
    finisher = request.getfixturevalue("delivery_partner_user")
    items = {item.key: item for item in migration.items.all()}
    items[TASK_KEY].complete(finisher)
    items[GATE_KEY].sign_off(finisher, override_reason="Agreed at the project board")
    ChecklistItem.objects.filter(pk=items[ARCHIVED_KEY].pk).update(archived_at=timezone.now())
    chosen = [items[key] for key in (TASK_KEY, GATE_KEY, CLINICAL_GATE_KEY, ARCHIVED_KEY)]
    chosen += list(migration.items.order_by("pk")[:2]) + [other.items.order_by("pk").first()]
    draft = loader.create_draft(loader.export(migration.template_version))

    client = Client()
    tokens, reset_links, codes = ["not-a-token"], [("MQ", "set-password")], ["000000", "12345"]
    users = [request.getfixturevalue(name) for name in ("practice_manager", "admin_user")]
    user = None
    if persona != "anonymous":
        user = request.getfixturevalue(persona)
        client.force_login(user)
        users.append(user)
        if not TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
            # The set-up page's device, made now so that the fuzz can also send its right code.
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
            codes.append(f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}")
    for each in users:
        preference, _ = ReminderPreference.objects.get_or_create(user=each)
        preference.new_calendar_token()
        tokens += [preference.calendar_token, reminder_emails.unsubscribe_token(each)]
        reset_links.append((urlsafe_base64_encode(force_bytes(each.pk)), default_token_generator.make_token(each)))

    return Demo(
        persona=persona,
        user=user,
        cookies=copy.deepcopy(client.cookies),
        migration_ids=[migration.pk, other.pk],
        item_ids=[item.pk for item in chosen],
        revisions=sorted(
            set(ChecklistItem.objects.filter(pk__in=[item.pk for item in chosen]).values_list("revision", flat=True))
        ),
        version_ids=[migration.template_version_id, draft.pk],
        tokens=tokens,
        reset_links=reset_links,
        usernames=[each.email for each in users] + [each.email.upper() for each in users],
        codes=codes,
        choices=dashboard_choices(migration),
        yaml_text=loader.export_text(migration.template_version),
        milestone_dates=PracticeMigration.objects.get(pk=migration.pk).milestone_dates(),
        tally=tally,
    )


def dashboard_choices(migration: PracticeMigration) -> list[str]:
    """Values the dashboard's filters offer: ids of its ICB, delivery partner and systems; phase
    keys, windows, RAG, statuses, sort keys."""
    practice = migration.practice
    phases = list(migration.template_version.phases.values_list("key", flat=True)[:3])
    return [
        str(practice.icb_id),
        str(practice.delivery_partner_id),
        f"{migration.source_supplier_id}-{migration.target_supplier_id}",
        *phases,
        "closed",
        *GO_LIVE_WINDOWS,
        GO_LIVE_NOT_AGREED,
        *(rag.value for rag in Rag),
        *(key for key in STATUSES if key),
        *SORTABLE,
        *(f"-{key}" for key in SORTABLE),
        "active",
    ]


# --- strategies ---------------------------------------------------------------------------------------

TEXT = st.one_of(st.text(max_size=40), st.sampled_from(AWKWARD_TEXT).map(written_out))
NUMBER = st.one_of(st.integers(-3, 400), st.integers(-(10**25), 10**25)).map(str)
# Deferred, for a short repr: Hypothesis writes out the strategies of a failing test, and this one
# is in every field.
ANY_VALUE = st.deferred(lambda: st.one_of(TEXT, NUMBER))
SEGMENT = st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(AWKWARD_TEXT).map(written_out)).filter(
    lambda text: text and "/" not in text
)

# Field names the forms and views read.
DATE_FIELDS = [f"{milestone.value}-{part}" for milestone in Milestone for part in ("day", "month", "year")]
FORM_FIELDS = [
    "revision",
    "reason",
    "note",
    "override_reason",
    "confirm",
    "version",
    "action",
    "frequency",
    "first_lead_days",
    "second_lead_days",
    "username",
    "password",
    "code",
    "next",
    "old_password",
    "new_password1",
    "new_password2",
    "email",
    "change_note",
    "seen_revision",
    "data_file",
    "_selected_action",
    "select_across",
    "index",
    "post",
    "csrfmiddlewaretoken",
    *DATE_FIELDS,
]
QUERY_FIELDS = [
    "search",
    "icb",
    "delivery_partner",
    "suppliers",
    "phase",
    "go_live",
    "rag",
    "status",
    "sort",
    "page",
    "next",
    "q",
    "o",
    "p",
    "e",
    "all",
    "_changelist_filters",
    "_to_field",
    "_popup",
    "status__exact",
    "kind__exact",
    "frequency__exact",
    "practice__icb__id__exact",
    "id__in",
    "pk__gt",
    "go_live_on__gte",
    "term",
    "app_label",
    "model_name",
    "field_name",
]


def upload(content: bytes, name: str = "guide.yaml") -> BytesIO:
    """A file for the test client to send as a multipart upload."""
    file = BytesIO(content)
    file.name = name
    return file


def value_for(name: str, demo: Demo) -> st.SearchStrategy:
    """Values for one field: those a real page would send for it, and anything at all."""
    specific = {
        "revision": st.sampled_from([str(revision) for revision in demo.revisions]),
        "seen_revision": st.sampled_from([str(revision) for revision in demo.revisions]),
        "confirm": st.just("yes"),
        "version": st.sampled_from([str(pk) for pk in demo.version_ids]),
        "action": st.sampled_from(["turn_off", "new", *ADMIN_ACTIONS]),
        "frequency": st.sampled_from([choice.value for choice in ReminderPreference.Frequency]),
        "first_lead_days": st.integers(-1, 400).map(str),
        "second_lead_days": st.integers(-1, 400).map(str),
        "username": st.sampled_from(demo.usernames),
        "email": st.sampled_from(demo.usernames),
        "password": st.just(PASSWORD),
        "old_password": st.just(PASSWORD),
        "new_password1": st.just("a-long-enough-passphrase-2025"),
        "new_password2": st.just("a-long-enough-passphrase-2025"),
        "code": st.sampled_from(demo.codes),
        "next": st.sampled_from(NEXT_URLS),
        "_selected_action": st.sampled_from([str(pk) for pk in demo.migration_ids + demo.item_ids]),
        "data_file": st.one_of(
            st.builds(demo.yaml_text.encode), st.binary(max_size=200), st.text(max_size=200).map(str.encode)
        ).map(upload),
    }
    if name in DATE_FIELDS:
        return st.one_of(st.integers(-1, 40).map(str), st.integers(1999, 2101).map(str), ANY_VALUE)
    if name in ("icb", "delivery_partner", "suppliers", "phase", "go_live", "rag", "status", "sort", "o"):
        return st.one_of(st.sampled_from(demo.choices), ANY_VALUE)
    if name in specific:
        return st.one_of(specific[name], ANY_VALUE)
    return ANY_VALUE


def pairs(names: list[str], demo: Demo, max_size: int) -> st.SearchStrategy:
    """(name, value) pairs, names repeating at times: known names mostly, and random ones."""
    known = st.one_of(*(st.tuples(st.just(name), value_for(name, demo)) for name in names))
    return st.lists(st.one_of(known, known, st.tuples(st.text(max_size=12), ANY_VALUE)), max_size=max_size)


def each_field(names: list[str], demo: Demo, absent: int) -> st.SearchStrategy:
    """Every known field at once, each absent (`absent` times in `absent` + 1), a real value or anything."""
    return st.fixed_dictionaries({name: st.one_of(*[st.none()] * absent, value_for(name, demo)) for name in names}).map(
        lambda values: {name: value for name, value in values.items() if value is not None}
    )


def real_form(demo: Demo, moved: Milestone | None = None, days: int = 0, confirm: str = "") -> dict:
    """What the real forms post, filled in right, one milestone moved by `days`: these get past the
    forms' checks to the model methods and the preview."""
    data = {
        "revision": str(demo.revisions[0]),
        "seen_revision": str(demo.revisions[0]),
        "reason": "Supplier moved the date",
        "note": "Rang the supplier",
        "override_reason": "Agreed at the project board",
        "confirm": confirm,
        "frequency": "weekly",
        "first_lead_days": "5",
        "second_lead_days": "1",
        "version": str(demo.version_ids[-1]),
        "change_note": "Fuzzed",
        "username": demo.usernames[-1],
        "password": PASSWORD,
        "old_password": PASSWORD,
        "new_password1": "a-long-enough-passphrase-2025",
        "new_password2": "a-long-enough-passphrase-2025",
        "email": demo.usernames[-1],
        "code": demo.codes[-1],
        "next": "/",
    }
    for milestone in Milestone:
        value = demo.milestone_dates[milestone.value]
        if value is not None and milestone == moved:
            value += timedelta(days=days)
        parts = (value.day, value.month, value.year) if value else ("", "", "")
        for part, number in zip(("day", "month", "year"), parts, strict=True):
            data[f"{milestone.value}-{part}"] = str(number)
    return data


def plausible_form(demo: Demo) -> st.SearchStrategy:
    return st.builds(
        real_form, st.just(demo), st.sampled_from(list(Milestone)), st.integers(-400, 400), st.sampled_from(["", "yes"])
    )


def every_field(names: list[str], value: str) -> dict:
    """The same value in every known field (no file): one awkward value tried on all at once."""
    return {name: value for name in names if name != "data_file"}


@dataclass(frozen=True)
class Fuzzed:
    """One generated request."""

    method: str
    url: str
    query: str
    data: tuple = ()
    multipart: bool = True
    htmx: bool = False
    csrf_checks: bool = False

    def __str__(self) -> str:
        url = self.url + (f"?{self.query[:300]}" if self.query else "")
        shown = [(name, value if isinstance(value, str) else "<file>") for name, value in self.data]
        shown = [(name, value[:200] + "…" if len(value) > 200 else value) for name, value in shown]
        flags = ", ".join(
            flag
            for flag, on in (("HX-Request", self.htmx), ("urlencoded", not self.multipart), ("CSRF", self.csrf_checks))
            if on
        )
        return f"{self.method} {url} data={shown!r}" + (f" ({flags})" if flags else "")


def kwarg_values(name: str, converter, demo: Demo) -> st.SearchStrategy:
    """Values for a URL parameter: the demo's real ids and tokens (another practice's too), zero,
    a number past any database integer, and anything the converter lets through."""
    real = {
        "pk": demo.migration_ids,
        "item_pk": demo.item_ids,
        "object_id": demo.version_ids + demo.migration_ids + demo.item_ids,
    }.get(name, [])
    if name == "token":
        if converter is None or isinstance(converter, StringConverter):
            return st.one_of(st.sampled_from(demo.tokens), SEGMENT)
        # A converter of our own: anything its pattern lets through (the rest is a 404 by routing).
        return st.one_of(st.sampled_from(demo.tokens), st.from_regex(converter.regex, fullmatch=True))
    if name == "app_label":
        return st.sampled_from(sorted({model._meta.app_label for model in admin.site._registry}))
    if isinstance(converter, IntConverter):
        return st.one_of(st.sampled_from(real or [1]), st.sampled_from([0, HUGE]), st.integers(0, 10**30))
    if isinstance(converter, PathConverter):
        # A path parameter matches ".+": anything but a line break.
        anything = st.text(min_size=1, max_size=40).filter(lambda text: "\n" not in text)
        return st.one_of(st.sampled_from([str(pk) for pk in real] or ["1"]), anything)
    if isinstance(converter, UUIDConverter):
        return st.uuids()
    if isinstance(converter, SlugConverter):
        return st.from_regex(r"[-a-zA-Z0-9_]+", fullmatch=True)
    if isinstance(converter, StringConverter) or converter is None:
        return st.one_of(st.sampled_from([str(pk) for pk in real] or ["1"]), SEGMENT)
    return st.sampled_from([str(pk) for pk in real] or ["1"])


def path_for(route: Route, demo: Demo) -> st.SearchStrategy:
    """URLs of the route, its parameters drawn by kwarg_values."""
    if route.route == ANY_PATH:
        return st.text(max_size=40).map(lambda text: "/" + text.replace("?", "").replace("#", ""))
    if route.name is None:
        return st.just("/" + route.route)
    names = [name for name, _ in route.parameters]
    if names == ["uidb64", "token"]:
        return st.one_of(st.sampled_from(demo.reset_links), st.tuples(SEGMENT, SEGMENT)).map(
            lambda link: reverse(route.name, kwargs={"uidb64": link[0], "token": link[1]})
        )
    kwargs = st.fixed_dictionaries({name: kwarg_values(name, converter, demo) for name, converter in route.parameters})
    return kwargs.map(lambda values: reverse(route.name, kwargs=values))


def path_with(route: Route, demo: Demo, text: str = "") -> str:
    """The route's URL for the demo's first ids and tokens, or with `text` in every parameter
    that takes text."""
    if route.route == ANY_PATH:
        return "/" + (text or "no-such-page/")
    if route.name is None:
        return "/" + route.route
    if [name for name, _ in route.parameters] == ["uidb64", "token"]:
        uidb64, token = (text, text) if text else demo.reset_links[-1]
        return reverse(route.name, kwargs={"uidb64": uidb64, "token": token})
    kwargs = {}
    for name, converter in route.parameters:
        takes_text = isinstance(converter, (StringConverter, PathConverter)) or converter is None
        kwargs[name] = text if text and takes_text and name != "app_label" else first_value(name, converter, demo)
    return reverse(route.name, kwargs=kwargs)


def first_value(name: str, converter, demo: Demo) -> object:
    """A real value for a URL parameter: the demo migration, its first chosen item, a real token."""
    if name == "item_pk":
        return demo.item_ids[0]
    if name == "token":
        return demo.tokens[1]
    if name == "app_label":
        return "migrations_app"
    if name == "object_id":
        return str(demo.version_ids[0])
    if isinstance(converter, UUIDConverter):
        return "00000000-0000-0000-0000-000000000000"
    return demo.migration_ids[0]


@dataclass(frozen=True)
class Inputs:
    """The strategies for a query string and for form data, built once per persona."""

    query: st.SearchStrategy
    data: st.SearchStrategy


def inputs_for(demo: Demo) -> Inputs:
    """Query strings: some of the known parameters, or one awkward value in all of them; extra
    pairs; an awkward ending. Form data: a real form's fields, each known field absent, real or
    anything, one awkward value in every field, or nothing; then extra pairs (repeated names,
    random names)."""
    awkward = st.sampled_from(AWKWARD_TEXT).map(written_out)
    query = st.tuples(
        st.one_of(
            each_field(QUERY_FIELDS, demo, absent=3), awkward.map(lambda value: every_field(QUERY_FIELDS, value))
        ),
        pairs(QUERY_FIELDS, demo, max_size=4),
        st.sampled_from(AWKWARD_QUERIES).map(written_out),
    ).map(lambda parts: "&".join(part for part in (urlencode(parts[0]), urlencode(parts[1]), parts[2]) if part))
    data = st.tuples(
        st.one_of(
            plausible_form(demo),
            each_field(FORM_FIELDS, demo, absent=1),
            awkward.map(lambda value: every_field(FORM_FIELDS, value)),
            st.just({}),
        ),
        pairs(FORM_FIELDS, demo, max_size=4),
    ).map(lambda parts: tuple(parts[0].items()) + tuple(parts[1]))
    return Inputs(query, data)


def requests_for(route: Route, method: str, demo: Demo, inputs: Inputs) -> st.SearchStrategy:
    if method == "GET":
        return st.builds(
            Fuzzed, method=st.just("GET"), url=path_for(route, demo), query=inputs.query, htmx=st.booleans()
        )
    return st.builds(
        Fuzzed,
        method=st.just("POST"),
        url=path_for(route, demo),
        query=st.one_of(st.just(""), inputs.query),
        data=inputs.data,
        multipart=st.booleans(),
        htmx=st.booleans(),
        csrf_checks=st.sampled_from([False, False, False, True]),
    )


# --- sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What came back: a description of the problem ('' when none), the status and any redirect."""

    problem: str
    status: int | None = None
    location: str = ""


def send(fuzzed: Fuzzed, demo: Demo) -> Outcome:
    """Send one request in a savepoint that is rolled back."""
    client = Client(enforce_csrf_checks=fuzzed.csrf_checks)
    client.cookies = copy.deepcopy(demo.cookies)
    headers = {"HX-Request": "true"} if fuzzed.htmx else {}
    path = fuzzed.url + (f"?{fuzzed.query}" if fuzzed.query else "")
    demo.tally["requests"] += 1
    try:
        with transaction.atomic():
            if fuzzed.method == "GET":
                response = client.get(path, headers=headers)
            elif fuzzed.multipart:
                data: dict[str, list] = {}
                for name, value in fuzzed.data:
                    if not isinstance(value, str):
                        value.seek(0)
                    data.setdefault(name, []).append(value)
                response = client.post(path, data, headers=headers)
            else:
                body = urlencode([(name, value) for name, value in fuzzed.data if isinstance(value, str)])
                response = client.post(path, body, content_type="application/x-www-form-urlencoded", headers=headers)
            transaction.set_rollback(True)
    except Exception as error:  # the test client re-raises what a view raised: that is a 500
        demo.tally["server errors"] += 1
        return Outcome(f"{demo.persona}: {fuzzed} raised\n{where(error)}")
    status, location = response.status_code, response.get("Location", "")
    if status < 500 or _healthz_reporting_an_outage(fuzzed, response):
        return Outcome("", status, location)
    demo.tally["server errors"] += 1
    return Outcome(f"{demo.persona}: {fuzzed} answered {status}", status, location)


def reaches_no_view(outcome: Outcome) -> bool:
    """The method is not allowed, or the persona is sent to sign in: decided before the view reads
    any input, so the route gets no generated input for this persona and method."""
    sent_to_sign_in = outcome.status == 302 and outcome.location.startswith((reverse("login"), "/admin/login/"))
    return outcome.status == 405 or sent_to_sign_in


def where(error: Exception) -> str:
    """The exception, the project's frames it went through (the last three), and where it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if "/migrations_app/" in frame.filename or "/config/" in frame.filename][-3:]
    shown = ours + ([frames[-1]] if frames and frames[-1] not in ours else [])
    lines = "".join(traceback.format_list(shown))
    return f"{lines}{type(error).__module__}.{type(error).__qualname__}: {error}"


def _healthz_reporting_an_outage(fuzzed: Fuzzed, response) -> bool:
    # /healthz answers 503 by design when the broker or database does not answer: that is the
    # machine's state, not the input's.
    return fuzzed.url == "/healthz" and response.status_code == 503 and b"unavailable" in response.content


# --- the test -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tally(request) -> Iterator[Counter]:
    """Requests made and server errors seen over the module's tests, reported at the end."""
    counts: Counter = Counter()
    yield counts
    line = f"fuzz: {counts['requests']:,} requests, {counts['server errors']:,} responses of 500 or above"
    # Written past pytest's output capture, so that it shows without -s, failing or not.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"\n{line}")


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_generated_request_gets_a_server_error(persona, request, tally, record_property):
    demo = make_demo(persona, request, tally)
    inputs = inputs_for(demo)
    requests_before = tally["requests"]
    failures = []
    for route in fuzzed_routes(staff=bool(demo.user and demo.user.is_staff)):
        for method in METHODS:
            # First the request a real page would make; its answer says whether the view is reached.
            real = Fuzzed(
                method, path_with(route, demo), "", tuple(real_form(demo).items()) if method == "POST" else ()
            )
            outcome = send(real, demo)
            if outcome.problem:
                failures.append(f"{route} {method}: {outcome.problem}")
            if reaches_no_view(outcome):
                continue
            with_nul = Fuzzed(
                method,
                path_with(route, demo, NUL),
                urlencode(every_field(QUERY_FIELDS, NUL)),
                tuple(every_field(FORM_FIELDS, NUL).items()) if method == "POST" else (),
            )

            @hypothesis_settings(
                max_examples=ADMIN_EXAMPLES if route.in_admin else EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                # Shrinking, yes; not the explain phase's extra runs around a failure.
                phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            )
            @seed(zlib.crc32(f"{persona} {route} {method}".encode()))
            @given(fuzzed=requests_for(route, method, demo, inputs))
            @example(fuzzed=with_nul)
            def no_server_error(fuzzed: Fuzzed) -> None:
                problem = send(fuzzed, demo).problem
                assert not problem, problem

            try:
                no_server_error()
            except Exception as error:  # collected, to report every route at once
                failures.append(f"{route} {method}: {error}")

    record_property("requests", tally["requests"] - requests_before)
    assert not failures, "\n\n".join(failures)
