"""Every page, whatever its answer, carries the security headers; every state-changing route
refuses a request without a CSRF token. Both enumerate the URL patterns themselves."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

# Routes that take a POST without a CSRF token, and why.
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: the mail client POSTs with no page and no token; the signed
    # token in the URL is the credential.
    "migrations:unsubscribe",
}


def url_patterns(patterns=None, namespace: str = "", prefix: str = ""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            nested = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from url_patterns(entry.url_patterns, nested, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern), entry


def concrete_path(route: str, values: dict) -> str:
    """A path for a route, its converters filled with real ids where there are some."""

    def fill(match: re.Match) -> str:
        name = match.group(2)
        return str(values.get(name, "1" if (match.group(1) or "") in ("int:", "") and name.endswith("pk") else "x"))

    path = re.sub(r"<(\w+:)?(\w+)>", fill, route)
    path = path.lstrip("^").rstrip("$").replace("\\Z", "")
    return "/" + path


@pytest.fixture
def values(migration) -> dict:
    item = migration.items.order_by("pk").first()
    return {"pk": migration.pk, "item_pk": item.pk}


@pytest.fixture
def admin_client_verified(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def all_routes():
    return [(name, route) for name, route, _ in url_patterns() if not route.startswith("admin/")]


def test_the_routes_are_enumerated():
    names = {name for name, _ in all_routes()}
    assert {"login", "healthz", "migrations:migration_detail", "migrations:item_complete"} <= names


@pytest.mark.parametrize(("name", "route"), all_routes(), ids=lambda value: str(value))
def test_every_route_sends_the_security_headers(admin_client_verified, values, name, route):
    response = admin_client_verified.get(concrete_path(route, values))

    policy = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy, (name, response.status_code)
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "same-origin"
    assert response.headers.get("Cross-Origin-Opener-Policy") == "same-origin"


@pytest.mark.parametrize(("name", "route"), all_routes(), ids=lambda value: str(value))
def test_every_route_refuses_a_post_without_a_csrf_token(admin_user, values, name, route):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(concrete_path(route, values), {})

    if name in CSRF_EXEMPT:
        assert response.status_code != 403 or b"CSRF" not in response.content
    else:
        # 403 from the CSRF check, or 405 where the route takes no POST at all.
        assert response.status_code in (403, 405), (name, response.status_code)


# --- caching ---------------------------------------------------------------------------------------


def cache_directives(response) -> set[str]:
    return {directive.strip() for directive in response.headers.get("Cache-Control", "").split(",") if directive}


@pytest.fixture
def private_pages(migration) -> dict[str, str]:
    item = migration.items.order_by("pk").first()
    return {
        "migration": reverse("migrations:migration_detail", args=[migration.pk]),
        "item": reverse("migrations:item_detail", args=[migration.pk, item.pk]),
        "dashboard": reverse("migrations:dashboard"),
        "csv": reverse("migrations:dashboard_csv"),
        "reminder settings": reverse("migrations:preferences"),
    }


@pytest.mark.parametrize("page", ["migration", "item", "dashboard", "csv", "reminder settings"])
def test_a_signed_in_persons_pages_are_kept_by_no_cache(client, delivery_partner_user, private_pages, page):
    client.force_login(delivery_partner_user)

    response = client.get(private_pages[page])

    assert response.status_code == 200
    assert {"no-store", "private"} <= cache_directives(response)


def test_the_csv_is_streamed_and_kept_by_no_cache(client, delivery_partner_user, private_pages):
    client.force_login(delivery_partner_user)

    response = client.get(private_pages["csv"])

    assert response.streaming
    assert {"no-store", "private"} <= cache_directives(response)


@pytest.mark.parametrize(("name", "route"), all_routes(), ids=lambda value: str(value))
def test_every_route_answers_a_signed_in_request_for_no_cache(admin_client_verified, values, name, route):
    response = admin_client_verified.get(concrete_path(route, values))

    assert {"no-store", "private"} <= cache_directives(response), (name, response.status_code)


def test_a_page_answered_before_the_second_factor_is_kept_by_no_cache(client, admin_user):
    client.post(reverse("login"), {"username": admin_user.email, "password": PASSWORD})

    response = client.get(reverse("migrations:dashboard"))

    assert response.url.startswith(reverse("two_factor_verify"))
    assert {"no-store", "private"} <= cache_directives(response)


@pytest.mark.parametrize("page", ["login", "password_reset"])
def test_the_pages_for_signing_in_are_kept_by_no_cache_too(client, page):
    # Nobody is signed in yet, but each page holds a CSRF token: no one else may be given a copy.
    response = client.get(reverse(page))

    assert response.status_code == 200
    assert {"no-store", "private"} <= cache_directives(response)


def test_the_health_check_keeps_its_own_cache_headers(client, delivery_partner_user):
    anonymous = client.get(reverse("healthz"))
    client.force_login(delivery_partner_user)
    signed_in = client.get(reverse("healthz"))

    expected = {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}
    assert cache_directives(anonymous) == expected
    assert cache_directives(signed_in) == expected


def test_static_files_keep_their_own_cache_headers(settings, delivery_partner_user):
    # WhiteNoise answers before the session is read; find the files as `make run` does.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()
    client.force_login(delivery_partner_user)

    response = client.get("/static/css/tracker.css")

    assert response.status_code == 200
    assert "public" in cache_directives(response)
    assert "no-store" not in cache_directives(response)
