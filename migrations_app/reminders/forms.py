"""A person's reminder settings (the /reminders/ page)."""

from django import forms

from migrations_app.models import ReminderPreference
from migrations_app.models.reminders import MAX_LEAD_DAYS

# Each box's message names it: two boxes wrong at once are two different links in the error summary.
LEAD_DAYS_MESSAGE = "Enter a whole number of days from 0 to {max} for the {which} reminder"
SECOND_LEAD_DAYS_MESSAGE = "Enter fewer days for the second reminder than for the first"


class ReminderPreferenceForm(forms.ModelForm):
    """Saving the form also subscribes again someone who used an unsubscribe link."""

    class Meta:
        model = ReminderPreference
        fields = ["frequency", "first_lead_days", "second_lead_days"]
        widgets = {"frequency": forms.RadioSelect}
        labels = {
            "frequency": "How often do you want a digest?",
            "first_lead_days": "First reminder",
            "second_lead_days": "Second reminder",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, which in (("first_lead_days", "first"), ("second_lead_days", "second")):
            message = LEAD_DAYS_MESSAGE.format(max=MAX_LEAD_DAYS, which=which)
            self.fields[name].error_messages.update(
                required=message, invalid=message, min_value=message, max_value=message
            )
        self.fields["frequency"].error_messages["required"] = "Select how often you want a digest"

    def clean(self) -> dict:
        """The second reminder comes after the first: fewer days before the due date. The same
        number twice, or a larger one, would be one reminder where the page promises two."""
        cleaned_data = super().clean()
        first, second = cleaned_data.get("first_lead_days"), cleaned_data.get("second_lead_days")
        if first is not None and second is not None and second >= first:
            self.add_error("second_lead_days", SECOND_LEAD_DAYS_MESSAGE)
        return cleaned_data

    def save(self, commit: bool = True) -> ReminderPreference:
        self.instance.unsubscribed_at = None
        return super().save(commit)
