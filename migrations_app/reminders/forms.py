"""A person's reminder settings (the /reminders/ page)."""

from django import forms

from migrations_app.models import ReminderPreference
from migrations_app.models.reminders import MAX_LEAD_DAYS

LEAD_DAYS_MESSAGE = f"Enter a whole number of days from 0 to {MAX_LEAD_DAYS}"


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

    def save(self, commit: bool = True) -> ReminderPreference:
        self.instance.unsubscribed_at = None
        return super().save(commit)
