"""What people type to invite someone, and to make their account from an invitation."""

from django import forms
from django.contrib.auth.forms import SetPasswordMixin

from migrations_app.invitations import inviting
from migrations_app.models import ICB, DeliveryPartner, Practice, Role, User
from migrations_app.views.signin import PASSWORD_MISMATCH, account_name

# What each role may do (access.GRANTS, and the weekly check-in's and retrospective's own rules).
ROLE_HINTS = {
    Role.PRACTICE_MANAGER: "Runs the practice's checklist: ticks items, changes milestones, signs off the "
    "practice's gates, gives the weekly check-in and invites people.",
    Role.CLINICAL_LEAD: "Signs off the data checking. Also ticks items, changes milestones and names who owns an "
    "item, but does not sign the practice manager's gates, give the check-in or invite people.",
    Role.PRACTICE_STAFF: "Ticks items, marks them not applicable or blocked, and writes notes.",
}


class RoleOptions:
    """A form with a `role` field of radios, shown with each role's hint (_role_radios.html)."""

    def role_options(self) -> list[tuple[object, str]]:
        """The radios with their hints, for the template."""
        return [(option, ROLE_HINTS.get(option.data["value"], "")) for option in self["role"]]


class InviteForm(RoleOptions, forms.Form):
    """An address and a role from those the inviter may give there (`access.roles_to_invite`;
    with one role, as on a team's page, there is nothing to choose). The address is normalised as
    sign-in normalises it, and refused when inviting.refusal says so."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        help_text="Their work address, for example an nhs.net one. The invitation is sent to it.",
        error_messages={
            "required": "Enter their e-mail address",
            "max_length": "The e-mail address must be 254 characters or fewer",
            "invalid": "Enter an e-mail address in the correct format, like name@nhs.net",
        },
    )
    role = forms.ChoiceField(
        label="Role", widget=forms.RadioSelect, error_messages={"required": "Select the role to give them"}
    )

    def __init__(self, *args, organisation: Practice | DeliveryPartner | ICB, roles: tuple[str, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.single_role = roles[0] if len(roles) == 1 else ""
        if self.single_role:
            del self.fields["role"]
        else:
            self.fields["role"].choices = [(role, Role(role).label) for role in roles]

    def clean_email(self) -> str:
        return account_name(self.cleaned_data["email"])

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.single_role:
            cleaned["role"] = self.single_role
        if cleaned.get("email") and cleaned.get("role"):
            reason = inviting.refusal(cleaned["email"], cleaned["role"], self.organisation)
            if reason:
                self.add_error("email", reason)
        return cleaned


class RoleForm(RoleOptions, forms.Form):
    """Another role for someone at a practice, from those the person changing it may give there
    (`access.roles_to_invite`), with the hints the invite form gives."""

    role = forms.ChoiceField(
        label="New role", widget=forms.RadioSelect, error_messages={"required": "Select their new role"}
    )

    def __init__(self, *args, current: str, roles: tuple[str, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self.fields["role"].choices = [(role, Role(role).label) for role in roles if role != current]


class NewAccountForm(SetPasswordMixin, forms.Form):
    """The name and password of someone joining from an invitation, checked with Django's password
    validators (AUTH_PASSWORD_VALIDATORS) against their name and address too."""

    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={
            "required": "Enter your full name",
            "max_length": "Your full name must be 150 characters or fewer",
        },
    )
    new_password1, new_password2 = SetPasswordMixin.create_password_fields(
        label1="Create a password", label2="Confirm your password"
    )
    error_messages = {"password_mismatch": PASSWORD_MISMATCH}

    def __init__(self, *args, email: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email = email
        self.fields[
            "new_password1"
        ].help_text = (
            "At least 12 characters. Not a common password, not only numbers, and not like your name or e-mail address."
        )
        self.fields["new_password2"].help_text = ""
        self.fields["new_password1"].error_messages["required"] = "Create a password"
        self.fields["new_password2"].error_messages["required"] = "Enter the password again"

    def clean(self) -> dict:
        cleaned = super().clean()
        self.validate_passwords("new_password1", "new_password2")
        # At the first box, where the password is chosen; a mismatch is at the second.
        self.validate_password_for_user(User(email=self.email, full_name=cleaned.get("full_name", "")), "new_password1")
        return cleaned
