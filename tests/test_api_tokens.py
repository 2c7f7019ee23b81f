"""Personal API tokens: made on the account's API tokens page (shown once, stored hashed), listed,
revoked; at the API, `Authorization: Bearer` only, with the person's own access narrowed by the
token's scope; stopped by expiry, revocation, deactivation and a password change; throttled per
token. Who may open the pages is in tests/test_access_personal_pages.py."""

import hashlib
import logging
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from migrations_app.admin import UserAdmin
from migrations_app.api.throttles import PersonRateThrottle
from migrations_app.models import ApiToken, Role, User
from migrations_app.models.api_tokens import TOKEN_FORMAT
from tests.conftest import NOW, TODAY
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

PAGE_URL = reverse("migrations:api_tokens")
LIST_URL = reverse("api:migration_list")
PROBLEM = "application/problem+json"
NEW_PASSWORD = "a-new-and-longer-passphrase-2025"


def detail_url(pk: int) -> str:
    return reverse("api:migration_detail", kwargs={"pk": pk})


def revoke_url(token: ApiToken) -> str:
    return reverse("migrations:api_token_revoke", kwargs={"pk": token.pk})


def make_token(user: User, *, name: str = "Reports", scope: str = "read", days: int = 30) -> tuple[ApiToken, str]:
    return ApiToken.issue(user, name=name, scope=scope, expires_on=TODAY + timedelta(days=days))


def form_data(name: str = "Weekly report", scope: str = "read", expires_on=TODAY + timedelta(days=90)) -> dict:
    day, month, year = ("", "", "") if expires_on is None else (expires_on.day, expires_on.month, expires_on.year)
    return {"name": name, "scope": scope, "expires_on-day": day, "expires_on-month": month, "expires_on-year": year}


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_refused_with_401(response) -> None:
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="GP migration tracker API"')
    assert response.json()["title"] == "Unauthorized"


# --- making a token ---------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_stored_only_as_a_hash(client, practice_manager):
    client.force_login(practice_manager)

    response = client.post(PAGE_URL, form_data())

    assert response.status_code == 200
    page = response.content.decode()
    [secret] = re.findall(r"gpmt_[0-9a-f]{12}_[0-9a-f]{64}", page)
    token = ApiToken.objects.get(user=practice_manager)
    assert (token.name, token.scope, token.created_at) == ("Weekly report", "read", NOW)
    assert token.expires_on == TODAY + timedelta(days=90)
    # At rest: the public prefix and a SHA-256 of the secret, never the secret itself.
    prefix, hidden = TOKEN_FORMAT.fullmatch(secret).groups()
    assert token.prefix == prefix
    assert token.secret_hash == hashlib.sha256(hidden.encode()).hexdigest()
    assert not any(hidden in str(value) for value in ApiToken.objects.values_list().get())
    # Shown in the answer to the POST only: not kept in the session, not shown again.
    assert not any(hidden in str(value) for value in client.session.values())
    assert hidden not in client.get(PAGE_URL).content.decode()
    assert "You will not be able to see it again" in page
    assert "no-store" in response.headers["Cache-Control"]


def test_making_a_token_is_a_security_event(client, practice_manager, caplog):
    client.force_login(practice_manager)

    with caplog.at_level(logging.INFO, logger="security"):
        client.post(PAGE_URL, form_data())

    token = ApiToken.objects.get(user=practice_manager)
    [record] = [record.security for record in caplog.records if record.getMessage() == "api_token_created"]
    assert (record["user_id"], record["token_id"], record["scope"]) == (practice_manager.pk, token.pk, "read")
    assert "gpmt_" not in str(record)


def test_the_form_starts_with_an_expiry_90_days_ahead(client, practice_manager):
    client.force_login(practice_manager)

    page = client.get(PAGE_URL).content.decode()

    expected = TODAY + timedelta(days=90)  # 9 July 2025
    assert f'name="expires_on-day" type="text" inputmode="numeric" value="{expected.day}"' in page
    assert f'name="expires_on-year" type="text" inputmode="numeric" value="{expected.year}"' in page
    assert "on or before 10 April 2026" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            form_data(expires_on=TODAY + timedelta(days=366)),
            "no more than a year from today, on or before 10 April 2026",
        ),
        (form_data(expires_on=TODAY - timedelta(days=1)), "Expiry date must be tomorrow or later"),
        (form_data(expires_on=TODAY), "Expiry date must be tomorrow or later"),
        (form_data(expires_on=None), "Enter an expiry date"),
        (form_data() | {"expires_on-month": "13"}, "Expiry date month must be a number between 1 and 12"),
        (form_data(name="  "), "Enter a name for the token"),
        (form_data(name="x" * 101), "Name must be 100 characters or fewer"),
        (form_data(scope=""), "Select what the token can do"),
        (form_data(scope="admin"), "Select a valid choice"),
    ],
    ids=["over a year", "past", "today", "no date", "bad month", "no name", "long name", "no scope", "bad scope"],
)
def test_a_bad_token_form_says_what_is_wrong_and_saves_nothing(data, message, client, practice_manager):
    client.force_login(practice_manager)

    response = client.post(PAGE_URL, data)

    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert message in page
    assert "gpmt_" not in page
    assert not ApiToken.objects.exists()


def test_a_token_may_last_a_year(client, practice_manager):
    client.force_login(practice_manager)

    response = client.post(PAGE_URL, form_data(expires_on=TODAY + timedelta(days=365)))

    assert response.status_code == 200
    assert ApiToken.objects.get().expires_on == TODAY + timedelta(days=365)


def test_the_model_refuses_an_expiry_over_a_year_ahead(practice_manager):
    token, _ = make_token(practice_manager)
    token.expires_at += timedelta(days=340)

    with pytest.raises(Exception, match="at most 365 days"):
        token.full_clean()


@pytest.mark.parametrize("typed", [" weekly REPORT ", "Weekly   report", "Weekly report\u200b", "\uff37eekly report"])
def test_a_name_differing_only_in_capitals_or_spaces_is_the_same_name(typed, client, practice_manager):
    make_token(practice_manager, name="Weekly report")
    client.force_login(practice_manager)

    refused = client.post(PAGE_URL, form_data(name=typed))

    assert refused.status_code == 400
    assert "You already have a token called Weekly report." in refused.content.decode()
    assert ApiToken.objects.filter(user=practice_manager).count() == 1


def test_a_name_is_used_once_until_its_token_is_revoked(client, practice_manager):
    token, _ = make_token(practice_manager, name="Weekly report")
    client.force_login(practice_manager)

    refused = client.post(PAGE_URL, form_data(name="Weekly report"))
    ApiToken.objects.filter(pk=token.pk).revoke()
    accepted = client.post(PAGE_URL, form_data(name="Weekly report"))

    assert refused.status_code == 400
    assert "You already have a token called Weekly report" in refused.content.decode()
    assert accepted.status_code == 200
    assert ApiToken.objects.filter(user=practice_manager, name="Weekly report").count() == 2


# --- the list, and revoking ------------------------------------------------------------------------


def test_the_list_shows_each_token_with_its_scope_last_use_expiry_and_status(client, practice_manager):
    make_token(practice_manager, name="Never used")
    used, _ = make_token(practice_manager, name="Used", scope="read_write")
    ApiToken.objects.filter(pk=used.pk).update(last_used_at=NOW - timedelta(days=2))
    revoked, _ = make_token(practice_manager, name="Revoked one")
    ApiToken.objects.filter(pk=revoked.pk).revoke()
    expired, _ = make_token(practice_manager, name="Expired one")
    ApiToken.objects.filter(pk=expired.pk).update(created_at=NOW - timedelta(days=40), expires_at=NOW)
    client.force_login(practice_manager)

    page = client.get(PAGE_URL).content.decode()

    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in page.split("<tr")[2:]]
    by_name = {name: next(row for row in rows if f" {name} gpmt_" in row) for name in ("Never used", "Used")}
    assert "Read only" in by_name["Never used"]
    assert "Last used Never" in by_name["Never used"]
    assert "Works until 10 May 2025" in by_name["Never used"]
    assert "Status Active" in by_name["Never used"]
    assert "Read and write" in by_name["Used"]
    assert "Last used 8 Apr 2025, 09:30" in by_name["Used"]
    assert "Status Revoked" in next(row for row in rows if "Revoked one" in row)
    assert "Status Expired" in next(row for row in rows if "Expired one" in row)
    # Revoke links for the tokens not revoked yet.
    assert page.count("/revoke/") == 3


def test_revoking_asks_first_then_stops_the_token(client, practice_manager, migration, caplog):
    token, secret = make_token(practice_manager)
    client.force_login(practice_manager)

    confirm = client.get(revoke_url(token))
    token.refresh_from_db()
    assert confirm.status_code == 200
    assert token.revoked_at is None
    with caplog.at_level(logging.INFO, logger="security"):
        revoked = client.post(revoke_url(token))

    token.refresh_from_db()
    assert (revoked.status_code, revoked.url) == (302, PAGE_URL)
    assert token.revoked_at == NOW
    assert "api_token_revoked" in [record.getMessage() for record in caplog.records]
    assert_refused_with_401(Client().get(LIST_URL, **bearer(secret)))


def test_revoking_a_revoked_token_changes_nothing(client, practice_manager):
    token, _ = make_token(practice_manager)
    ApiToken.objects.filter(pk=token.pk).revoke(NOW - timedelta(days=1))
    client.force_login(practice_manager)

    response = client.post(revoke_url(token))

    token.refresh_from_db()
    assert (response.status_code, response.url) == (302, PAGE_URL)
    assert token.revoked_at == NOW - timedelta(days=1)


def test_nobody_sees_or_revokes_another_persons_token(client, practice_manager, practice_staff):
    token, secret = make_token(practice_manager, name="Priya's report")
    client.force_login(practice_staff)

    page = client.get(PAGE_URL).content.decode()
    confirm = client.get(revoke_url(token))
    revoke = client.post(revoke_url(token))

    token.refresh_from_db()
    assert "Priya's report" not in page and token.prefix not in page
    assert (confirm.status_code, revoke.status_code) == (404, 404)
    assert token.revoked_at is None


# --- two-factor sign-in before a token ------------------------------------------------------------


def test_someone_who_needs_two_factor_makes_a_token_only_after_their_code(client, delivery_partner_user):
    # The password only: the pages (this one too) ask for the code first.
    client.post(reverse("login"), {"username": delivery_partner_user.email, "password": PASSWORD})

    page = client.get(PAGE_URL)
    made = client.post(PAGE_URL, form_data())

    assert page.status_code == made.status_code == 302
    assert page.url.startswith(reverse("two_factor_verify"))
    assert made.url.startswith(reverse("two_factor_verify"))
    assert not ApiToken.objects.exists()


def test_someone_who_needs_two_factor_and_has_none_sets_it_up_before_a_token(client, delivery_partner):
    user = UserFactory(email="new.partner@example.nhs.uk")
    MembershipFactory(user=user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=delivery_partner)
    client.post(reverse("login"), {"username": user.email, "password": PASSWORD})

    made = client.post(PAGE_URL, form_data())

    assert made.status_code == 302
    assert made.url.startswith(reverse("two_factor_setup"))
    assert not ApiToken.objects.exists()


def test_after_the_code_the_token_is_made(client, delivery_partner_user):
    client.force_login(delivery_partner_user)  # a completed sign-in, code included (tests.conftest)

    response = client.post(PAGE_URL, form_data())

    assert response.status_code == 200
    assert ApiToken.objects.filter(user=delivery_partner_user).count() == 1


# --- using a token at the API ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["delivery_partner_user", "practice_manager", "icb_user", "outsider"])
def test_a_token_reads_what_its_persons_session_reads(persona, request, client, world):
    user = request.getfixturevalue(persona)
    _, secret = make_token(user)
    client.force_login(user)

    by_session = client.get(LIST_URL)
    by_token = Client().get(LIST_URL, **bearer(secret))

    assert by_token.status_code == by_session.status_code == 200
    assert by_token.json() == by_session.json()


def test_a_token_reads_one_migration_it_can_see_and_not_others(migration, other_migration, practice_manager):
    _, secret = make_token(practice_manager)
    api = Client(**bearer(secret))

    assert api.get(detail_url(migration.pk)).status_code == 200
    assert api.get(detail_url(other_migration.pk)).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_read_only_token_cannot_write(method, migration, practice_manager):
    token, secret = make_token(practice_manager, scope="read")
    api = Client(**bearer(secret))

    answers = [
        getattr(api, method)(url, data={}, content_type="application/json")
        for url in (LIST_URL, detail_url(migration.pk))
    ]

    for answer in answers:
        assert answer.status_code == 403
        assert answer.headers["Content-Type"] == PROBLEM
        assert answer.json()["detail"].startswith("This token is read only")


def test_a_read_and_write_token_gets_past_the_scope(migration, practice_manager):
    _, secret = make_token(practice_manager, scope="read_write")

    # The list takes no POST: refused for the method, not for the token.
    response = Client().post(LIST_URL, data={}, content_type="application/json", **bearer(secret))

    assert response.status_code == 405


def test_a_token_needs_no_csrf_token_and_a_session_still_does(practice_manager, migration):
    _, secret = make_token(practice_manager, scope="read_write")
    session = Client(enforce_csrf_checks=True)
    session.force_login(practice_manager)

    by_token = Client(enforce_csrf_checks=True).post(LIST_URL, {}, content_type="application/json", **bearer(secret))
    by_session = session.post(LIST_URL, {}, content_type="application/json")

    assert by_token.status_code == 405
    assert by_session.status_code == 403
    assert "CSRF" in by_session.json()["detail"]


def expired(user):
    token, secret = make_token(user)
    ApiToken.objects.filter(pk=token.pk).update(created_at=NOW - timedelta(days=40), expires_at=NOW)
    return secret


def revoked(user):
    token, secret = make_token(user)
    ApiToken.objects.filter(pk=token.pk).revoke()
    return secret


def unknown(user):
    _, secret = make_token(user)
    prefix = TOKEN_FORMAT.fullmatch(secret)[1]
    return f"gpmt_{prefix}_{'0' * 64}"


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (expired, "This token has expired."),
        (revoked, "This token was revoked."),
        (unknown, "This is not a valid API token."),
        (lambda user: "gpmt_123_abc", "This is not a valid API token."),
        (lambda user: "not-a-token-at-all", "This is not a valid API token."),
        (lambda user: "gpmt_abc def", "Send one token after Bearer: Authorization: Bearer <token>."),
        (lambda user: "", "Send one token after Bearer: Authorization: Bearer <token>."),
    ],
    ids=["expired", "revoked", "unknown secret", "malformed", "not ours", "two words", "empty"],
)
def test_a_token_that_does_not_work_gets_a_401_problem(make, detail, practice_manager, migration):
    secret = make(practice_manager)

    response = Client().get(LIST_URL, **bearer(secret))

    assert_refused_with_401(response)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json()["detail"] == detail
    assert not ApiToken.objects.filter(last_used_at__isnull=False).exists()


def test_nothing_at_all_gets_a_401_naming_the_bearer_scheme(migration):
    response = Client().get(LIST_URL)

    assert_refused_with_401(response)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="GP migration tracker API"'


@pytest.mark.parametrize("parameter", ["token", "access_token", "api_key", "search"])
def test_a_token_in_the_address_is_refused_even_with_a_good_header(parameter, practice_manager, migration):
    token, secret = make_token(practice_manager)

    response = Client().get(LIST_URL, {parameter: secret}, **bearer(secret))

    assert_refused_with_401(response)
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert "Authorization header only" in response.json()["detail"]
    token.refresh_from_db()
    assert token.last_used_at is None


def test_a_token_counts_its_use_at_most_once_a_minute(practice_manager, migration, time_machine):
    token, secret = make_token(practice_manager)
    api = Client(**bearer(secret))

    api.get(LIST_URL)
    token.refresh_from_db()
    first = token.last_used_at
    time_machine.shift(timedelta(seconds=30))
    api.get(LIST_URL)
    token.refresh_from_db()
    within_the_minute = token.last_used_at
    time_machine.shift(timedelta(seconds=31))
    api.get(LIST_URL)
    token.refresh_from_db()

    assert first == within_the_minute == NOW
    assert token.last_used_at == NOW + timedelta(seconds=61)


def test_a_used_token_shows_when_on_the_list(client, practice_manager, migration):
    _, secret = make_token(practice_manager)
    Client().get(LIST_URL, **bearer(secret))
    client.force_login(practice_manager)

    page = client.get(PAGE_URL).content.decode()

    assert "10 Apr 2025, 09:30" in page
    assert "Never" not in page


# --- what stops every token of a person ------------------------------------------------------------


def test_deactivating_the_person_stops_their_tokens(practice_manager, migration):
    _, secret = make_token(practice_manager)
    practice_manager.is_active = False
    practice_manager.save()

    response = Client().get(LIST_URL, **bearer(secret))

    assert_refused_with_401(response)
    assert response.json()["detail"] == "This token's account is deactivated."


def test_deactivating_the_person_in_the_admin_revokes_their_tokens_for_good(practice_manager, admin_user, migration):
    token, secret = make_token(practice_manager)
    other, _ = make_token(practice_manager, name="Other")
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    practice_manager.is_active = False

    UserAdmin(User, admin.site).save_model(
        request, practice_manager, SimpleNamespace(changed_data=["is_active"]), change=True
    )
    practice_manager.is_active = True
    practice_manager.save()

    assert set(ApiToken.objects.values_list("revoked_at", flat=True)) == {NOW}
    assert_refused_with_401(Client().get(LIST_URL, **bearer(secret)))
    assert {token.pk, other.pk} == set(ApiToken.objects.values_list("pk", flat=True))


def test_changing_the_password_on_its_page_stops_every_token(client, practice_manager, migration):
    _, first = make_token(practice_manager, name="One")
    _, second = make_token(practice_manager, name="Two", scope="read_write")
    client.force_login(practice_manager)

    changed = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    for secret in (first, second):
        response = Client().get(LIST_URL, **bearer(secret))
        assert_refused_with_401(response)
        assert response.json()["detail"] == "This token stopped working when its account's password changed."
    page = client.get(PAGE_URL).content.decode()
    assert page.count("When your password changed") == 2
    assert "/revoke/" not in page


def test_set_password_stops_every_token_and_frees_their_names(client, practice_manager, migration):
    token, secret = make_token(practice_manager, name="Reports")
    practice_manager.set_password(NEW_PASSWORD)
    practice_manager.save()
    client.force_login(practice_manager)

    assert_refused_with_401(Client().get(LIST_URL, **bearer(secret)))
    again = client.post(PAGE_URL, form_data(name="Reports"))
    token.refresh_from_db()
    assert again.status_code == 200
    assert token.revoked_at == NOW
    [new_secret] = re.findall(r"gpmt_[0-9a-f]{12}_[0-9a-f]{64}", again.content.decode())
    assert Client().get(LIST_URL, **bearer(new_secret)).status_code == 200


# --- throttles and the schema ---------------------------------------------------------------------


def test_each_token_is_throttled_on_its_own(client, practice_manager, migration, monkeypatch):
    monkeypatch.setitem(PersonRateThrottle.THROTTLE_RATES, "user", "2/minute")
    _, first = make_token(practice_manager, name="One")
    _, second = make_token(practice_manager, name="Two")
    client.force_login(practice_manager)

    by_first = [Client().get(LIST_URL, **bearer(first)).status_code for _ in range(3)]
    by_second = Client().get(LIST_URL, **bearer(second))
    by_session = client.get(LIST_URL)

    assert by_first == [200, 200, 429]
    assert by_second.status_code == by_session.status_code == 200


def test_the_schema_describes_the_bearer_token(client, practice_manager):
    _, secret = make_token(practice_manager)

    schema = (
        Client().get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json", **bearer(secret)).json()
    )

    scheme = schema["components"]["securitySchemes"]["personalApiToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operation = schema["paths"]["/api/v1/migrations/"]["get"]
    assert {"personalApiToken": []} in operation["security"]
    assert operation["responses"]["401"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


def test_someone_who_changes_nothing_is_offered_only_read_only_tokens(client, national_viewer, practice_manager):
    # A national viewer changes no migration: a token that writes would be offered for nothing.
    client.force_login(national_viewer)
    page = client.get(PAGE_URL).content.decode()
    refused = client.post(PAGE_URL, form_data(scope="read_write"))
    client.force_login(practice_manager)
    others = client.get(PAGE_URL).content.decode()

    assert 'value="read"' in page and 'value="read_write"' not in page
    assert "Your role reads migrations and changes none" in page
    assert refused.status_code == 400
    assert not ApiToken.objects.filter(user=national_viewer).exists()
    assert 'value="read_write"' in others
