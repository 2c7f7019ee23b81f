"""The API's documentation page in a real browser: Swagger UI, from the app's own static files,
runs under the Content Security Policy (the new_page fixture fails the test on anything the CSP
blocks, a script error or a static file that does not load) and calls the API with the session."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import assert_no_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_documentation_runs_under_the_csp_and_tries_the_list(
    page: Page, sign_in, delivery_partner_user, current_migration
):
    sign_in(page, delivery_partner_user)
    assets = []
    page.on("request", lambda request: assets.append(request.url))

    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("GP practice migration tracker API")
    expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    assert_no_axe_violations(page)
    operation = page.locator(".opblock-get", has_text="/api/v1/migrations/").first
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tr.response .response-col_status").first).to_have_text(
        re.compile(r"^\s*200")
    )
    expect(operation.locator(".live-responses-table")).to_contain_text(current_migration.practice.ods_code)
    origin = re.match(r"^https?://[^/]+", page.url).group(0)
    assert assets and all(url.startswith(origin) for url in assets), assets
