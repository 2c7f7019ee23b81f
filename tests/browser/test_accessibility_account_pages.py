"""axe-core on a person's own pages: reminder settings, the unsubscribe link, two-factor sign-in,
passwords and personal API tokens, in the states people meet them in. No violations allowed."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from migrations_app.models import ApiToken, ReminderPreference, User
from migrations_app.reminders.emails import unsubscribe_token
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-new-and-longer-passphrase-2025"


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def give_two_factor_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def wrong_code(device: TOTPDevice) -> str:
    """A 6-digit code the device does not accept now, nor in the steps either side of now (it
    allows for clock drift), so the test cannot pass the check by chance."""
    device.refresh_from_db()
    accepted = {
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"
        for drift in range(device.drift - device.tolerance - 2, device.drift + device.tolerance + 3)
    }
    return next(code for code in ("123456", "654321", "111111", "222222") if code not in accepted)


def sign_in_with_password_only(page: Page, user: User) -> None:
    """The first step of signing in: for a user with a device it stops at the security code page."""
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


# --- reminder settings -----------------------------------------------------------------------------


def test_reminder_preferences_page(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/reminders/")
    expect(heading(page)).to_have_text("Reminders")
    expect(page.get_by_role("button", name="Make a calendar link")).to_be_visible()

    assert_no_axe_violations(page)


def test_reminder_preferences_page_with_errors(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/reminders/")
    page.get_by_label("First reminder").fill("abc")
    page.get_by_label("Second reminder").fill("-3")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save settings").click()
    assert navigation.value.status == 400
    expect(heading(page)).to_have_text("Reminders")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a whole number of days")
    expect(page.locator("#id_first_lead_days-error")).to_be_visible()

    assert_no_axe_violations(page)


def test_reminder_preferences_page_with_a_calendar_link(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/reminders/")
    page.get_by_role("button", name="Make a calendar link").click()
    expect(heading(page)).to_have_text("Reminders")
    expect(page.get_by_label("Your calendar link")).to_have_value(
        f"{page.url.split('/reminders/')[0]}/reminders/calendar/"
        f"{ReminderPreference.objects.get(user=practice_manager).calendar_token}.ics"
    )

    assert_no_axe_violations(page)


def test_reminder_preferences_page_with_a_calendar_link_that_stopped_working(page, sign_in, practice_manager):
    preference = ReminderPreference.objects.create(user=practice_manager)
    preference.new_calendar_token()
    # As after a password change: the link no longer matches the account.
    ReminderPreference.objects.filter(pk=preference.pk).update(calendar_token_fingerprint="")
    sign_in(page, practice_manager)
    page.goto("/reminders/")
    expect(page.get_by_text("Your calendar link no longer works")).to_be_visible()
    expect(page.get_by_role("button", name="Make a new link")).to_be_visible()

    assert_no_axe_violations(page)


def test_the_403_page_a_practice_user_gets_from_the_admin(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    response = page.goto("/admin/")
    assert response.status == 403
    expect(heading(page)).to_have_text("You do not have permission to do this")
    expect(page.get_by_text("The administration pages are for")).to_be_visible()

    assert_no_axe_violations(page)


# --- the one-click unsubscribe link (signed out) ---------------------------------------------------


def test_expired_unsubscribe_page(page, frontend_loaded, practice_manager):
    with time_machine.travel(timezone.now() - timedelta(days=91), tick=False):
        token = unsubscribe_token(practice_manager)
    response = page.goto(f"/reminders/unsubscribe/{token}/")
    assert response.status == 410
    frontend_loaded(page)
    expect(heading(page)).to_have_text("This unsubscribe link has expired")
    assert not ReminderPreference.objects.filter(user=practice_manager, unsubscribed_at__isnull=False).exists()

    assert_no_axe_violations(page)


def test_unsubscribe_confirmation_page(page, frontend_loaded, practice_manager):
    page.goto(f"/reminders/unsubscribe/{unsubscribe_token(practice_manager)}/")
    frontend_loaded(page)
    expect(heading(page)).to_have_text("Unsubscribe from reminder e-mails")
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()

    assert_no_axe_violations(page)


def test_unsubscribed_page(page, practice_manager):
    page.goto(f"/reminders/unsubscribe/{unsubscribe_token(practice_manager)}/")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(heading(page)).to_have_text("You are unsubscribed")
    assert ReminderPreference.objects.get(user=practice_manager).is_unsubscribed

    assert_no_axe_violations(page)


# --- two-factor sign-in ----------------------------------------------------------------------------


def test_two_factor_page_when_it_is_off(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/two-factor/")
    expect(heading(page)).to_have_text("Sign-in security")
    expect(page.get_by_role("link", name="Set up two-factor sign-in")).to_be_visible()

    assert_no_axe_violations(page)


def test_two_factor_page_when_the_role_needs_it(page, sign_in, delivery_partner_user):
    sign_in(page, delivery_partner_user)
    page.goto("/accounts/two-factor/")
    expect(heading(page)).to_have_text("Sign-in security")
    expect(page.locator("main")).to_contain_text("it cannot be turned off")

    assert_no_axe_violations(page)


def test_two_factor_page_when_it_can_be_turned_off(page, sign_in, practice_manager):
    give_two_factor_device(practice_manager)
    sign_in(page, practice_manager)
    page.goto("/accounts/two-factor/")
    expect(heading(page)).to_have_text("Sign-in security")
    expect(page.get_by_role("button", name="Turn off two-factor sign-in")).to_be_visible()

    assert_no_axe_violations(page)


def test_two_factor_page_after_turning_it_off(page, sign_in, practice_manager):
    give_two_factor_device(practice_manager)
    sign_in(page, practice_manager)
    page.goto("/accounts/two-factor/")
    page.get_by_role("button", name="Turn off two-factor sign-in").click()
    expect(heading(page)).to_have_text("Sign-in security")
    expect(page.locator("main")).to_contain_text("Two-factor sign-in is turned off.")
    assert not TOTPDevice.objects.devices_for_user(practice_manager).exists()

    assert_no_axe_violations(page)


def test_two_factor_set_up_page(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/two-factor/set-up/")
    expect(heading(page)).to_have_text("Set up two-factor sign-in")
    expect(page.get_by_role("img", name="QR code")).to_be_visible()
    # The image decodes (an SVG without its namespace shows nothing but its alt text).
    page.wait_for_function("() => document.querySelector('img[alt^=\"QR code\"]').naturalWidth > 0")

    assert_no_axe_violations(page)


def test_two_factor_set_up_page_with_a_wrong_code(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/two-factor/set-up/")
    device = TOTPDevice.objects.get(user=practice_manager, confirmed=False)
    page.get_by_label("Security code").fill(wrong_code(device))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert navigation.value.status == 400
    expect(heading(page)).to_have_text("Set up two-factor sign-in")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("That code did not work")

    assert_no_axe_violations(page)


def test_two_factor_verify_page(page, frontend_loaded, practice_manager):
    give_two_factor_device(practice_manager)
    sign_in_with_password_only(page, practice_manager)
    assert "/accounts/two-factor/verify/" in page.url
    frontend_loaded(page)
    expect(heading(page)).to_have_text("Enter your security code")

    assert_no_axe_violations(page)


def test_two_factor_verify_page_with_a_wrong_code(page, practice_manager):
    device = give_two_factor_device(practice_manager)
    sign_in_with_password_only(page, practice_manager)
    page.get_by_label("Security code").fill(wrong_code(device))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Continue").click()
    assert navigation.value.status == 400
    expect(heading(page)).to_have_text("Enter your security code")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("That code did not work")

    assert_no_axe_violations(page)


# --- passwords -------------------------------------------------------------------------------------


def test_password_change_page(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/password_change/")
    expect(heading(page)).to_have_text("Change your password")

    assert_no_axe_violations(page)


def test_password_change_page_with_errors(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/password_change/")
    page.get_by_label("Old password").fill("not-the-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Change password").click()
    expect(heading(page)).to_have_text("Change your password")
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()

    assert_no_axe_violations(page)


def test_password_change_done_page(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/password_change/")
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(heading(page)).to_have_text("Your password has been changed")
    practice_manager.refresh_from_db()
    assert practice_manager.check_password(NEW_PASSWORD)

    assert_no_axe_violations(page)


def test_password_reset_confirm_page_for_an_invalid_link(page, frontend_loaded, practice_manager):
    page.goto("/accounts/reset/MQ/not-a-valid-token/")
    frontend_loaded(page)
    expect(heading(page)).to_have_text("This link does not work")

    assert_no_axe_violations(page)


# --- personal API tokens ---------------------------------------------------------------------------


def test_api_tokens_page_with_tokens(page, sign_in, practice_manager):
    ApiToken.issue(
        practice_manager, name="Weekly report", scope="read", expires_on=timezone.localdate() + timedelta(90)
    )
    revoked, _ = ApiToken.issue(
        practice_manager, name="Old script", scope="read_write", expires_on=timezone.localdate() + timedelta(30)
    )
    ApiToken.objects.filter(pk=revoked.pk).revoke()
    sign_in(page, practice_manager)
    page.get_by_role("link", name="API tokens").click()
    expect(heading(page)).to_have_text("API tokens")
    expect(page.get_by_role("table")).to_contain_text("Weekly report")
    expect(page.get_by_role("table")).to_contain_text("Revoked")

    assert_no_axe_violations(page)


def test_api_tokens_page_with_errors(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/api-tokens/")
    page.get_by_label("Year").fill(str(timezone.localdate().year + 2))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Make token").click()
    assert navigation.value.status == 400
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter a name for the token")
    expect(summary).to_contain_text("Select what the token can do")
    expect(summary).to_contain_text("Expiry date must be no more than a year from today")
    assert not ApiToken.objects.exists()

    assert_no_axe_violations(page)


def test_api_tokens_page_with_a_new_token(page, sign_in, practice_manager):
    sign_in(page, practice_manager)
    page.goto("/accounts/api-tokens/")
    page.get_by_label("Name").fill("Weekly report")
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Make token").click()
    expect(page.get_by_role("heading", name="Your new token: Weekly report")).to_be_visible()
    token = page.locator("#new-token-value").inner_text()
    assert ApiToken.find(token) == ApiToken.objects.get(user=practice_manager)
    expect(page.get_by_role("button", name="Copy token")).to_be_visible()
    expect(page.get_by_text("You will not be able to see it again")).to_be_visible()

    assert_no_axe_violations(page)


def test_api_token_revoke_page(page, sign_in, practice_manager):
    token, _ = ApiToken.issue(
        practice_manager, name="Weekly report", scope="read", expires_on=timezone.localdate() + timedelta(90)
    )
    sign_in(page, practice_manager)
    page.goto("/accounts/api-tokens/")
    page.get_by_role("link", name="Revoke Weekly report").click()
    expect(heading(page)).to_have_text("Revoke the token Weekly report?")

    assert_no_axe_violations(page)

    page.get_by_role("button", name="Revoke token").click()
    expect(heading(page)).to_have_text("API tokens")
    expect(page.get_by_role("table")).to_contain_text("Revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None
