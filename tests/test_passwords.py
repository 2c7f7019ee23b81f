"""Passwords that hold their person's name or e-mail address are refused (migrations_app/passwords.py),
as the password hints say; other passwords are not."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from migrations_app.models import User

PERSON = User(email="y90004.staff@demo.nhs.uk", full_name="Priya O'Walker")


@pytest.mark.parametrize(
    "password", ["y90004.staff@demo", "Y90004-STAFF-2027", "PriyaWalker2026", "walker-and-the-sea-42", "o'walker99xyz"]
)
def test_a_password_holding_the_name_or_the_e_mail_address_is_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password, PERSON)


@pytest.mark.parametrize("password", ["correct-horse-battery-staple", "Sea-42-lantern-Oak"])
def test_a_password_holding_neither_is_taken(password):
    assert validate_password(password, PERSON) is None
