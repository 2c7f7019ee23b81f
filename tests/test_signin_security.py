"""Sign-in hardening: throttling, time-outs, sessions ended, two-factor sign-in, security events."""

import json
import logging
import re
import threading
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
WRONG = "not-the-password-at-all"


@pytest.fixture
def user(practice):
    member = UserFactory(email="sam.manager@example.nhs.uk")
    MembershipFactory(user=member, role=Role.PRACTICE_MANAGER, practice=practice)
    return member


@pytest.fixture
def limit(settings) -> int:
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def sign_in(client: Client, email: str, password: str, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def page_text(response, email: str) -> str:
    """The page as the person sees it, without their own address and the per-request CSRF token."""
    html = response.content.decode().replace(email, "ADDRESS")
    return re.sub(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1TOKEN", html)


def security_events(caplog) -> list[dict]:
    return [record.security for record in caplog.records if record.name == "security"]


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


# --- throttling --------------------------------------------------------------------------------------


def test_an_account_is_locked_after_too_many_failures_even_for_the_right_password(client, user, limit):
    for _ in range(limit - 1):
        assert sign_in(client, user.email, WRONG).status_code == 200
    assert sign_in(client, user.email, WRONG).status_code == 429

    response = sign_in(client, user.email, PASSWORD)

    assert response.status_code == 429
    assert "Too many attempts to sign in" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_a_password_reset_from_the_e_mailed_link_ends_the_accounts_lock(client, user, limit):
    for _ in range(limit):
        sign_in(client, user.email, WRONG)
    assert sign_in(client, user.email, PASSWORD).status_code == 429
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=(uid, default_token_generator.make_token(user)))
    form_address = client.get(link).url  # Django swaps the token for one kept in the session

    reset = client.post(form_address, {"new_password1": "a-new-password-1234", "new_password2": "a-new-password-1234"})

    assert reset.status_code == 302
    assert sign_in(client, user.email, PASSWORD).status_code == 200  # the old password: refused, not locked
    assert sign_in(client, user.email, "a-new-password-1234").status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_an_unknown_account_gets_the_same_answers_as_a_known_one(client, user, limit):
    known = [sign_in(Client(), user.email, WRONG, "203.0.113.1") for _ in range(limit + 1)]
    unknown = [sign_in(Client(), "nobody@example.nhs.uk", WRONG, "203.0.113.2") for _ in range(limit + 1)]

    assert [response.status_code for response in known] == [response.status_code for response in unknown]
    assert page_text(known[0], user.email) == page_text(unknown[0], "nobody@example.nhs.uk")
    assert page_text(known[-1], user.email) == page_text(unknown[-1], "nobody@example.nhs.uk")
    assert known[-1].status_code == 429


def test_every_spelling_of_an_address_counts_against_the_one_account(client, user, settings, caplog):
    # The account is found whatever the case and the spaces around the address, so the guesses
    # made under each spelling must share its one limit, not get a limit each.
    caplog.set_level(logging.INFO, logger="security")
    spellings = [user.email, user.email.upper(), f"  {user.email} ", "Sam.Manager@Example.NHS.uk", f"{user.email}\t"]
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [sign_in(Client(), spellings[number % len(spellings)], WRONG).status_code for number in range(limit)]

    refused = [sign_in(client, spelling, PASSWORD) for spelling in spellings]

    assert statuses == [200] * (limit - 1) + [429]
    assert [response.status_code for response in refused] == [429] * len(spellings)
    assert "Too many attempts to sign in" in refused[0].content.decode()
    assert SESSION_KEY not in client.session
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [(user.email, limit)]
    kinds = [event["event"] for event in security_events(caplog)]
    assert kinds.count("sign_in_failed") == limit - 1
    assert kinds.count("sign_in_locked_out") == 1 + len(spellings)
    assert "sign_in" not in kinds


def test_signing_in_clears_the_failures_of_an_address_stored_with_capitals(limit):
    # Addresses typed into the admin keep their capitals; django-axes clears the count of the
    # address as stored, so the count must be kept under the one spelling that matches it.
    member = UserFactory(email="Mixed.Case@Example.nhs.uk")
    for _ in range(limit - 1):
        sign_in(Client(), "mixed.case@example.nhs.uk", WRONG)
    assert sign_in(Client(), "MIXED.CASE@example.nhs.uk", PASSWORD).status_code == 302

    statuses = [sign_in(Client(), member.email, WRONG).status_code for _ in range(limit - 1)]

    assert statuses == [200] * (limit - 1)
    assert AccessAttempt.objects.get().failures_since_start == limit - 1


@pytest.fixture
def address_limit(settings, limit) -> int:
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 5
    return 5


def test_an_address_is_locked_after_too_many_failures_across_accounts(client, user, address_limit):
    statuses = [
        sign_in(Client(), f"guess{number}@example.nhs.uk", WRONG, address="198.51.100.9").status_code
        for number in range(address_limit)
    ]

    from_that_address = sign_in(client, user.email, PASSWORD, address="198.51.100.9")
    from_elsewhere = sign_in(Client(), user.email, PASSWORD, address="198.51.100.10")

    assert statuses == [200] * (address_limit - 1) + [429]
    assert from_that_address.status_code == 429
    assert "Too many attempts to sign in" in from_that_address.content.decode()
    assert from_elsewhere.status_code == 302


def test_an_address_takes_more_failures_than_an_account_by_default():
    from django.conf import settings

    assert settings.SIGN_IN_ADDRESS_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT


def test_signing_in_to_one_account_does_not_clear_the_failures_of_another(user, practice, limit):
    # Someone with an account of their own guesses another's password from the same address,
    # signing in to their own between guesses: the count of the account guessed still grows.
    insider = UserFactory(email="insider@example.nhs.uk")
    MembershipFactory(user=insider, role=Role.PRACTICE_STAFF, practice=practice)
    for _ in range(limit - 1):
        assert sign_in(Client(), user.email, WRONG, address="198.51.100.20").status_code == 200
        assert sign_in(Client(), insider.email, PASSWORD, address="198.51.100.20").status_code == 302

    assert sign_in(Client(), user.email, WRONG, address="198.51.100.20").status_code == 429
    assert sign_in(Client(), user.email, PASSWORD, address="198.51.100.21").status_code == 429


def test_signing_in_to_an_account_clears_only_its_own_failures(user, limit):
    for _ in range(limit - 1):
        sign_in(Client(), user.email, WRONG)
    assert sign_in(Client(), user.email, PASSWORD).status_code == 302

    statuses = [sign_in(Client(), user.email, WRONG).status_code for _ in range(limit)]

    assert statuses == [200] * (limit - 1) + [429]


def test_successful_sign_ins_from_an_address_do_not_lift_its_lock(client, user, practice, address_limit):
    colleague = UserFactory(email="colleague@example.nhs.uk")
    MembershipFactory(user=colleague, role=Role.PRACTICE_STAFF, practice=practice)
    for number in range(address_limit - 1):
        sign_in(Client(), f"guess{number}@example.nhs.uk", WRONG, address="198.51.100.30")
    assert sign_in(Client(), colleague.email, PASSWORD, address="198.51.100.30").status_code == 302

    assert sign_in(Client(), "guess-last@example.nhs.uk", WRONG, address="198.51.100.30").status_code == 429
    assert sign_in(Client(), user.email, PASSWORD, address="198.51.100.30").status_code == 429


def test_an_address_lock_ends_after_the_lockout_period(user, address_limit, settings, time_machine):
    time_machine.move_to("2026-11-26 09:00Z", tick=False)
    for number in range(address_limit):
        sign_in(Client(), f"guess{number}@example.nhs.uk", WRONG, address="198.51.100.40")
    assert sign_in(Client(), user.email, PASSWORD, address="198.51.100.40").status_code == 429

    time_machine.move_to("2026-11-26 09:31Z", tick=False)

    assert sign_in(Client(), user.email, PASSWORD, address="198.51.100.40").status_code == 302


def test_old_failures_are_forgotten_by_the_daily_task(user, settings, time_machine):
    from axes.models import AccessFailureLog

    from migrations_app import tasks

    time_machine.move_to("2026-10-01 09:00Z", tick=False)
    sign_in(Client(), user.email, WRONG)
    time_machine.move_to("2026-11-20 09:00Z", tick=False)
    sign_in(Client(), user.email, WRONG)

    tasks.forget_old_sign_in_failures()

    assert [failure.attempt_time.date().isoformat() for failure in AccessFailureLog.objects.all()] == ["2026-11-20"]


def together(count: int, attempt) -> list[int]:
    """The status codes of `count` sign-in attempts (attempt(number) -> response) started at once."""
    statuses: list[int] = []
    start = threading.Barrier(count)

    def run(number: int) -> None:
        try:
            start.wait()
            statuses.append(attempt(number).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_when_attempts_arrive_together(user, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 5

    statuses = together(20, lambda number: sign_in(Client(), user.email, WRONG, address=f"192.0.2.{number}"))

    # Five passwords checked, however many attempts arrived at once: the rest are refused before
    # theirs is. The fifth failure locks the account; one that finishes at the same moment as it
    # may already be answered as locked, so at most four are answered as plain failures.
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 5
    assert set(statuses) == {200, 429} and statuses.count(200) <= 4


@pytest.mark.django_db(transaction=True)
def test_the_address_limit_holds_when_attempts_on_many_accounts_arrive_together(settings):
    from axes.models import AccessFailureLog

    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 5

    statuses = together(
        20, lambda number: sign_in(Client(), f"guess{number}@example.nhs.uk", WRONG, address="198.51.100.50")
    )

    assert AccessFailureLog.objects.filter(ip_address="198.51.100.50").count() == 5
    assert set(statuses) == {200, 429} and statuses.count(200) <= 4


class GatedHasher(MD5PasswordHasher):
    """Checks a password only once the test opens the gate: a sign-in held in its password check."""

    algorithm = "gated_md5"
    entered = threading.Event()
    gate = threading.Event()

    def verify(self, password: str, encoded: str) -> bool:
        self.entered.set()
        assert self.gate.wait(timeout=20)
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_held_in_its_password_check_does_not_hold_up_others_from_its_address(user, settings):
    # A practice shares one network address: a sign-in waiting on its password check must not
    # make the next person's wait, as a lock held for the whole attempt would.
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "tests.test_signin_security.GatedHasher"]
    slow = UserFactory(email="slow.typist@example.nhs.uk")
    slow.password = GatedHasher().encode(PASSWORD, GatedHasher().salt())
    slow.save(update_fields=["password"])
    GatedHasher.entered.clear()
    GatedHasher.gate.clear()
    statuses: dict[str, int] = {}

    def attempt(who: str, email: str) -> None:
        try:
            statuses[who] = sign_in(Client(), email, PASSWORD, address="198.51.100.60").status_code
        finally:
            connection.close()

    held = threading.Thread(target=attempt, args=("held", slow.email))
    held.start()
    assert GatedHasher.entered.wait(timeout=10)
    other = threading.Thread(target=attempt, args=("other", user.email))
    other.start()
    other.join(timeout=10)
    finished_while_held = not other.is_alive()
    GatedHasher.gate.set()
    held.join()
    other.join()

    assert finished_while_held
    assert statuses == {"other": 302, "held": 302}


# --- sessions ----------------------------------------------------------------------------------------


def test_a_session_ends_after_30_minutes_without_a_request(client, user, time_machine):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    sign_in(client, user.email, PASSWORD)
    time_machine.shift(timedelta(minutes=29))
    assert client.get(reverse("migrations:home")).status_code == 200

    time_machine.shift(timedelta(minutes=31))
    response = client.get(reverse("migrations:home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_session_in_use_ends_12_hours_after_sign_in(client, user, practice, time_machine):
    time_machine.move_to("2026-03-02 07:00:00+00:00", tick=False)
    sign_in(client, user.email, PASSWORD)
    for _ in range(12 * 4 - 1):
        time_machine.shift(timedelta(minutes=15))
        assert client.get(reverse("migrations:home")).status_code == 200

    time_machine.shift(timedelta(minutes=16))
    response = client.get(reverse("migrations:home"))

    assert response.url.startswith(reverse("login"))


def test_signing_out_ends_the_session(client, user):
    sign_in(client, user.email, PASSWORD)
    session_key = client.session.session_key

    client.post(reverse("logout"))

    assert not Session.objects.filter(session_key=session_key).exists()


def test_changing_the_password_ends_the_other_sessions(user):
    laptop, phone = Client(), Client()
    sign_in(laptop, user.email, PASSWORD)
    sign_in(phone, user.email, PASSWORD)

    laptop.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-brand-new-passphrase-42",
            "new_password2": "a-brand-new-passphrase-42",
        },
    )

    assert laptop.get(reverse("migrations:home")).status_code == 200
    assert phone.get(reverse("migrations:home")).url.startswith(reverse("login"))


def test_deactivating_an_account_ends_its_sessions(client, user):
    sign_in(client, user.email, PASSWORD)

    user.is_active = False
    user.save()
    response = client.get(reverse("migrations:home"))

    assert response.url.startswith(reverse("login"))


# --- two-factor sign-in ------------------------------------------------------------------------------


@pytest.fixture
def partner(delivery_partner):
    member = UserFactory(email="new.partner@example.nhs.uk")
    MembershipFactory(user=member, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=delivery_partner)
    return member


@pytest.fixture
def icb_member(icb):
    member = UserFactory(email="new.icb.lead@example.nhs.uk")
    MembershipFactory(user=member, role=Role.ICB_LEAD, practice=None, icb=icb)
    return member


@pytest.mark.parametrize("who", ["partner", "icb_member", "staff"])
def test_delivery_partners_icb_members_and_staff_must_set_up_two_factor_sign_in(client, request, who):
    # Each sees many practices' migrations (an ICB lead, every practice of the ICB), or the admin.
    member = UserFactory(is_staff=True) if who == "staff" else request.getfixturevalue(who)
    sign_in(client, member.email, PASSWORD)

    response = client.get(reverse("migrations:home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))
    assert client.get(reverse("admin:index")).url.startswith(reverse("two_factor_setup"))


def test_setting_up_two_factor_needs_a_code_from_the_app(client, partner, time_machine):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    sign_in(client, partner.email, PASSWORD)
    page = client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=partner, confirmed=False)
    assert "data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns%3D" in page.content.decode()

    wrong = client.post(reverse("two_factor_setup"), {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert not TOTPDevice.objects.filter(user=partner, confirmed=True).exists()
    time_machine.shift(timedelta(seconds=30))  # past the throttle a wrong code sets

    right = client.post(reverse("two_factor_setup"), {"code": code_for(device)})

    assert right.status_code == 302
    assert TOTPDevice.objects.filter(user=partner, confirmed=True).count() == 1
    assert client.get(reverse("migrations:home")).url == reverse("migrations:dashboard")


def test_a_user_with_two_factor_enters_a_code_after_the_password(client, delivery_partner_user, time_machine):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    device = TOTPDevice.objects.get(user=delivery_partner_user)
    sign_in(client, delivery_partner_user.email, PASSWORD)

    blocked = client.get(reverse("migrations:home"))
    assert blocked.url.startswith(reverse("two_factor_verify"))

    wrong = client.post(reverse("two_factor_verify"), {"code": "12345x"})
    assert wrong.status_code == 400
    assert "The security code is 6 digits" in wrong.content.decode()

    time_machine.shift(timedelta(seconds=30))  # past the throttle a wrong code sets
    verified = client.post(reverse("two_factor_verify"), {"code": code_for(device), "next": "/"})
    assert verified.status_code == 302
    assert client.get(reverse("migrations:home")).url == reverse("migrations:dashboard")


def test_practice_users_may_turn_two_factor_on_and_off(client, user):
    sign_in(client, user.email, PASSWORD)
    assert client.get(reverse("migrations:home")).status_code == 200  # no two-factor step
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("two_factor_setup"), {"code": code_for(device)})
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    client.post(reverse("two_factor_disable"))

    assert not TOTPDevice.objects.filter(user=user).exists()


def test_delivery_partners_cannot_turn_two_factor_off(client, delivery_partner_user):
    client.force_login(delivery_partner_user)

    client.post(reverse("two_factor_disable"))

    assert TOTPDevice.objects.filter(user=delivery_partner_user, confirmed=True).exists()


def test_the_admin_sign_in_form_is_the_products(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/admin/"


@pytest.mark.parametrize("who", ["practice_manager", "delivery_partner_user", "national_viewer"])
def test_a_signed_in_person_who_is_not_staff_gets_one_403_from_the_admin(client, request, who, caplog):
    caplog.set_level(logging.INFO, logger="security")
    client.force_login(request.getfixturevalue(who))

    response = client.get("/admin/", follow=True)

    assert response.status_code == 403
    assert len(response.redirect_chain) <= 1
    assert "<h1>You do not have permission to do this</h1>" in response.content.decode()
    assert [event["event"] for event in security_events(caplog)] == ["access_denied"]


def test_a_staff_user_with_a_second_factor_reaches_the_admin(client, template_editor):
    client.force_login(template_editor)

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/?next=/admin/").url == "/admin/"


def test_an_anonymous_person_signs_in_through_the_product_and_comes_back_to_the_admin(client, template_editor):
    device = TOTPDevice.objects.get(user=template_editor)

    response = client.get("/admin/", follow=True)
    assert response.request["PATH_INFO"] == reverse("login")
    assert response.context["next"] == "/admin/"
    signed_in = client.post(LOGIN, {"username": template_editor.email, "password": PASSWORD, "next": "/admin/"})
    assert signed_in.url == "/admin/"
    verified = client.post(reverse("two_factor_verify"), {"code": code_for(device), "next": "/admin/"})

    assert verified.url == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- security events ---------------------------------------------------------------------------------


def test_security_events_say_who_what_when_and_never_the_password(
    client, user, limit, caplog, migration, practice_staff
):
    caplog.set_level(logging.INFO, logger="security")
    sign_in(client, user.email, WRONG)
    sign_in(client, user.email, PASSWORD)
    for _ in range(limit):
        sign_in(Client(), "someone.else@example.nhs.uk", WRONG, address="192.0.2.77")
    sign_in(Client(), "someone.else@example.nhs.uk", WRONG, address="192.0.2.77")
    staff_client = Client()
    staff_client.force_login(practice_staff)
    staff_client.get(reverse("migrations:milestones_edit", args=[migration.pk]))

    events = security_events(caplog)
    kinds = [event["event"] for event in events]

    assert kinds.count("sign_in_failed") >= 1 + limit - 1
    assert "sign_in" in kinds
    assert "sign_in_locked_out" in kinds
    denied = next(event for event in events if event["event"] == "access_denied")
    assert denied["user"] == practice_staff.email
    assert denied["path"] == reverse("migrations:milestones_edit", args=[migration.pk])
    signed_in = next(event for event in events if event["event"] == "sign_in")
    assert signed_in["user"] == user.email and signed_in["ip"] == "203.0.113.7"
    everything = caplog.text + "".join(json.dumps(event) for event in events)
    assert PASSWORD not in everything and WRONG not in everything


def test_security_events_are_json_lines_with_utc_times():
    from migrations_app.audit import SecurityEventFormatter

    record = logging.LogRecord("security", logging.INFO, __file__, 1, "sign_in", None, None)
    record.created = 1_780_000_000.0
    record.security = {"event": "sign_in", "user": "a@example.nhs.uk"}

    line = json.loads(SecurityEventFormatter().format(record))

    assert line == {"at": "2026-05-28T20:26:40.000+00:00", "event": "sign_in", "user": "a@example.nhs.uk"}
