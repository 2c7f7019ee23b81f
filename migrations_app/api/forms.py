"""The form that makes a personal API token on the account's API tokens page: a name, a scope and
an expiry date (an NHS.UK date input, `expires_on-day`, `-month`, `-year`)."""

import unicodedata
from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError

from migrations_app import access
from migrations_app.forms import DateInputError, OneDateInput, parse_date
from migrations_app.models import ApiToken
from migrations_app.models.api_tokens import DEFAULT_DAYS, MAX_DAYS


class ApiTokenForm(OneDateInput, forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What the token is for, so that you know it again. For example, Weekly report spreadsheet.",
        error_messages={
            "required": "Enter a name for the token",
            "max_length": "Name must be 100 characters or fewer",
        },
    )
    scope = forms.ChoiceField(
        label="What can the token do?",
        choices=ApiToken.Scope.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select what the token can do"},
    )

    NAME = "expires_on"
    LABEL = "Expiry date"

    def __init__(self, *args, user, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.today = today
        self.date_error: DateInputError | None = None
        if access.standing_of(user).changes_nothing:
            # Someone who may change nothing (a national viewer) is not offered a token that writes.
            scope = self.fields["scope"]
            scope.choices = [(ApiToken.Scope.READ, ApiToken.Scope.READ.label)]
            scope.initial = ApiToken.Scope.READ
            scope.help_text = "Your role reads migrations and changes none, so its tokens can only read."

    @property
    def latest(self) -> date:
        return self.today + timedelta(days=MAX_DAYS)

    @property
    def expiry_hint(self) -> str:
        return (
            f"The token stops working at the end of this day: at most a year from today, on or before "
            f"{_long(self.latest)}. For example, {self.latest.day} {self.latest.month} {self.latest.year}."
        )

    def initial_date(self) -> date:
        return self.today + timedelta(days=DEFAULT_DAYS)

    def clean_name(self) -> str:
        # Runs of spaces as one, and names told apart by their letters only, not by their capitals:
        # "Weekly report" and " weekly  REPORT " would be two tokens no one could tell apart in the list.
        # NFKC first (a full-width "Ｗ" is a "W"), and invisible characters (a zero-width space) left out.
        typed = unicodedata.normalize("NFKC", self.cleaned_data["name"])
        name = " ".join("".join(char for char in typed if unicodedata.category(char) != "Cf").split())
        taken = ApiToken.objects.owned_by(self.user).unrevoked().filter(name__iexact=name).select_related("user")
        # A token stopped by a password change gives its name back (ApiToken.issue marks it revoked).
        if clash := next((token for token in taken if token.matches_account), None):
            raise ValidationError(
                f"You already have a token called {clash.name}. Choose another name, or revoke that token first"
            )
        return name

    def clean(self) -> dict:
        cleaned = super().clean()
        try:
            expires_on = parse_date(self.LABEL, *self._typed())
        except DateInputError as error:
            self.date_error = error
        else:
            if expires_on is None:
                self.date_error = DateInputError("Enter an expiry date")
            elif expires_on <= self.today:
                self.date_error = DateInputError("Expiry date must be tomorrow or later")
            elif expires_on > self.latest:
                self.date_error = DateInputError(
                    f"Expiry date must be no more than a year from today, on or before {_long(self.latest)}"
                )
            cleaned["expires_on"] = expires_on
        if self.date_error:
            raise ValidationError("Check the expiry date")
        return cleaned


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
