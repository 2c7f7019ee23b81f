"""A password that holds its person's e-mail address or name is refused, as the password hints say
("not like your name or e-mail address"). Django's UserAttributeSimilarityValidator compares the
whole password with each: it lets through "y90004.staff@demo" for y90004.staff@demo.nhs.uk, or
"Walker2026!ab" for Priya Walker, which this one refuses."""

import re

from django.core.exceptions import ValidationError

# Parts shorter than these are left alone: too many passwords hold "ann" or "jo" by chance.
SHORTEST_EMAIL_NAME = 4
SHORTEST_NAME = 4


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


class PersonalPartsValidator:
    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        plain = _plain(password)
        local = _plain((getattr(user, "email", "") or "").split("@")[0])
        if len(local) >= SHORTEST_EMAIL_NAME and local in plain:
            raise ValidationError("The password holds your e-mail address: choose one that does not.", code="email")
        for word in re.split(r"[\W_]+", (getattr(user, "full_name", "") or "").casefold()):
            if len(word) >= SHORTEST_NAME and word in plain:
                raise ValidationError("The password holds your name: choose one that does not.", code="name")

    def get_help_text(self) -> str:
        return "Your password must not hold your name or your e-mail address."
