"""The client's address (migrations_app.audit.client_ip), which the per-address sign-in limit counts
and the security log records: X-Forwarded-For counts only as far as DJANGO_TRUSTED_PROXY_COUNT says.
The production default (no proxy trusted) is in test_settings.py."""

import pytest
from django.test import RequestFactory

from migrations_app.audit import client_ip

CONNECTION = "198.51.100.9"


def request_with(forwarded_for: str):
    return RequestFactory().get("/", REMOTE_ADDR=CONNECTION, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_with_no_trusted_proxy_a_spoofed_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request_with("203.0.113.66, 192.0.2.1")) == CONNECTION


def test_behind_one_proxy_the_address_it_appended_is_the_clients(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    # The client sent "203.0.113.66"; the proxy appended the address it was reached from.
    assert client_ip(request_with("203.0.113.66, 192.0.2.1")) == "192.0.2.1"


def test_behind_two_proxies_the_second_address_from_the_right_is_the_clients(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(request_with("203.0.113.66, 192.0.2.1, 10.0.0.5")) == "192.0.2.1"


@pytest.mark.parametrize("forwarded_for", ["", "192.0.2.1", " , 192.0.2.1"])
def test_a_forwarded_for_shorter_than_the_proxy_count_falls_back_to_the_connection(settings, forwarded_for):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(request_with(forwarded_for)) == CONNECTION
