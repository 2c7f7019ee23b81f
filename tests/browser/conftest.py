"""Real headless Chromium against pytest-django's live server, through Playwright's sync API.

The live server runs in another thread, so these tests need a transactional database
(`pytest.mark.django_db(transaction=True)`), and it serves static files through the staticfiles
finders, so the pages load the same NHS.UK CSS and htmx as in development.
"""

import os
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect, sync_playwright

from migrations_app.models import PracticeMigration, TemplateVersion, User
from tests.factories import MILESTONE_DATES, PASSWORD, make_migration

# Playwright's sync API runs an event loop in the test thread; Django would refuse every ORM call
# made from it (SynchronousOnlyOperation) although the calls are plain synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The NHS.UK header's blue, as the stylesheet sets it: proves the CSS was served and applied.
NHS_BLUE = "rgb(0, 94, 184)"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need it. Install it with `apt-get install -y chromium`.")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_page(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """Open a tab in a fresh context (its own cookies) on the live server. Uncaught script errors
    and static files that fail to load are collected, and fail the test at teardown."""
    contexts = []
    problems: list[str] = []

    def open_page(*, javascript: bool = True) -> Page:
        context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
        context.set_default_timeout(10_000)
        # Only the live server answers: the NHS.UK stylesheet asks assets.nhs.uk for its fonts, and
        # a test must not wait on, or depend on, the internet.
        context.route(re.compile(r"^https?://(?!localhost[:/]|127\.0\.0\.1[:/])"), lambda route: route.abort())
        # axe-core is served as if from our origin, so the page's CSP (script-src 'self') allows it.
        context.route("**/__axe.min.js", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
        # The Content Security Policy stays on in the browser: anything it blocks fails the test.
        page.on(
            "console",
            lambda message: (
                problems.append(f"CSP blocked something on {page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.on(
            "response",
            lambda response: (
                problems.append(f"{response.status} for {response.url}")
                if "/static/" in response.url and response.status >= 400
                else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def page_without_js(new_page) -> Page:
    return new_page(javascript=False)


def expect_frontend_loaded(page: Page, *, javascript: bool = True) -> None:
    """Fail unless the NHS.UK stylesheet applied and, with JavaScript on, htmx and our module ran:
    without this a broken static set-up would let every test pass on a bare HTML page."""
    expect(page.locator("header.nhsuk-header")).to_have_css("background-color", NHS_BLUE)
    if javascript:
        page.wait_for_function("() => window.htmx !== undefined")
        expect(page.locator("body")).to_have_class(re.compile(r"\bnhsuk-frontend-supported\b"))
    else:
        assert page.evaluate("() => typeof window.htmx") == "undefined"


@pytest.fixture
def frontend_loaded() -> Callable[..., None]:
    return expect_frontend_loaded


def landed_signed_in(page: Page, user: User) -> None:
    if "/admin/" in page.url:
        # A template editor, who sees no migration, lands in the admin.
        expect(page.locator("#user-tools")).to_contain_text("Log out")
    else:
        expect(page.get_by_role("navigation", name="Account")).to_contain_text(user.email)


def sign_in_through_the_page(page: Page, user: User, *, javascript: bool = True) -> None:
    """Sign `user` in through the real sign-in page (and the security code page for a user with
    a second factor), checking the page's CSS and scripts loaded."""
    page.goto("/accounts/login/")
    expect_frontend_loaded(page, javascript=javascript)
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/accounts/two-factor/verify/" in page.url:
        device = TOTPDevice.objects.devices_for_user(user, confirmed=True).get()
        page.get_by_label("Security code").fill(f"{totp(device.bin_key):06d}")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(lambda url: "/two-factor/" not in url)
    landed_signed_in(page, user)


@pytest.fixture
def sign_in(live_server) -> Callable[..., None]:
    """Sign `user` in, as a completed sign-in leaves the session (the second factor included, as
    the test client's `force_login` does here), and open the home page, checking the page's CSS
    and scripts loaded. Signing in through the pages costs a second or two a person, and is
    tested on its own (`sign_in_through_the_page`, the account pages' tests)."""

    def sign_in_as(page: Page, user: User, *, javascript: bool = True) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
        page.goto("/")
        if "/admin/" not in page.url:
            expect_frontend_loaded(page, javascript=javascript)
        landed_signed_in(page, user)

    return sign_in_as


def milestones_around(today: date) -> dict[str, date]:
    """The factories' milestone dates moved so that kick-off was two days ago: an item due at
    kick-off is overdue and one due three days after it falls due tomorrow."""
    shift = (today - timedelta(days=2)) - MILESTONE_DATES["kick_off_on"]
    return {name: day + shift for name, day in MILESTONE_DATES.items()}


@pytest.fixture
def current_migration(
    guide_version: TemplateVersion, practice, source_supplier, target_supplier, delivery_partner_user
) -> PracticeMigration:
    """The demo practice's migration with dates around today: the live server reads the real
    clock, so time-machine cannot move it."""
    return make_migration(
        practice=practice,
        source_supplier=source_supplier,
        target_supplier=target_supplier,
        template_version=guide_version,
        created_by=delivery_partner_user,
        **milestones_around(timezone.localdate()),
    )
