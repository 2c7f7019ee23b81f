"""A person's reminder settings (the /reminders/ page)."""

from django import forms

from migrations_app.models import ReminderPreference
from migrations_app.models.reminders import MAX_LEAD_DAYS

LEAD_DAYS_MESSAGE = f"Enter a whole number of days from 0 to {MAX_LEAD_DAYS}"
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
        for name in ("first_lead_days", "second_lead_days"):
            self.fields[name].error_messages.update(
                required=LEAD_DAYS_MESSAGE,
                invalid=LEAD_DAYS_MESSAGE,
                min_value=LEAD_DAYS_MESSAGE,
                max_value=LEAD_DAYS_MESSAGE,
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
