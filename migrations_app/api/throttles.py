"""How often the API may be asked: per person, and per address whoever asks (a whole practice or
CSU may share one NHS network address, so its limit is higher). The rates are
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]; the address is the one the sign-in limits count
(audit.client_ip, which trusts X-Forwarded-For only behind DJANGO_TRUSTED_PROXY_COUNT proxies)."""

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from migrations_app.audit import client_ip


class PersonRateThrottle(UserRateThrottle):
    """Per signed-in person (scope "user"); a request with nobody signed in counts by its address."""

    def get_ident(self, request) -> str:
        return client_ip(request)


class AddressRateThrottle(SimpleRateThrottle):
    """Per client address (scope "address"), signed in or not."""

    scope = "address"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}
