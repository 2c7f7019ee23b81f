"""How often the API may be asked: per person (per token, for a request with one), and per address
whoever asks (a whole practice or CSU may share one NHS network address, so its limit is higher). The rates are
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]; the address is the one the sign-in limits count
(audit.client_ip, which trusts X-Forwarded-For only behind DJANGO_TRUSTED_PROXY_COUNT proxies)."""

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from migrations_app.audit import client_ip
from migrations_app.models import ApiToken


class PersonRateThrottle(UserRateThrottle):
    """Per personal API token, for a request that came with one, else per signed-in person (scope
    "user"): each of a person's tokens (one script each, say) has the rate of its own, and their
    browser session another. A request with nobody signed in counts by its address."""

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": f"token:{request.auth.pk}"}
        return super().get_cache_key(request, view)

    def get_ident(self, request) -> str:
        return client_ip(request)


class AddressRateThrottle(SimpleRateThrottle):
    """Per client address (scope "address"), signed in or not."""

    scope = "address"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}
