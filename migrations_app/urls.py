from django.urls import path, register_converter

from migrations_app import views
from migrations_app.views import dashboard as dashboard_views
from migrations_app.views import reminders as reminder_views
from migrations_app.views import upgrades as upgrade_views

app_name = "migrations"


class TokenConverter:
    """The credentials in public reminder URLs: a signed value (letters, digits, "-", "_", ":", ".") or a
    random URL-safe token. Anything else is no token of ours, and a 404 before any look-up."""

    regex = r"[A-Za-z0-9_.:-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "token")

urlpatterns = [
    path("", views.home, name="home"),
    # The dashboard across practices (filters in the query string), its CSV, and how RAG is worked out.
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/migrations.csv", dashboard_views.dashboard_csv, name="dashboard_csv"),
    path("dashboard/rag/", dashboard_views.rag_help, name="rag_help"),
    path("migrations/<int:pk>/", views.migration_detail, name="migration_detail"),
    path("migrations/<int:pk>/milestones/", views.milestones_edit, name="milestones_edit"),
    # A later checklist version: review what it would change, then apply it (staff, delivery partner).
    path("migrations/<int:pk>/upgrade/", upgrade_views.upgrade_review, name="upgrade_review"),
    path(
        "migrations/<int:pk>/archived-items/<int:item_pk>/history/",
        upgrade_views.archived_item_history,
        name="archived_item_history",
    ),
    path("migrations/<int:pk>/items/<int:item_pk>/", views.item_detail, name="item_detail"),
    path("migrations/<int:pk>/items/<int:item_pk>/history/", views.item_history, name="item_history"),
    path("migrations/<int:pk>/items/<int:item_pk>/forms/", views.item_forms, name="item_forms"),
    path("migrations/<int:pk>/items/<int:item_pk>/complete/", views.item_complete, name="item_complete"),
    path("migrations/<int:pk>/items/<int:item_pk>/reopen/", views.item_reopen, name="item_reopen"),
    path("migrations/<int:pk>/items/<int:item_pk>/note/", views.item_note, name="item_note"),
    path("migrations/<int:pk>/items/<int:item_pk>/sign-off/", views.item_sign_off, name="item_sign_off"),
    path(
        "migrations/<int:pk>/items/<int:item_pk>/not-applicable/",
        views.item_mark,
        {"mark": "not-applicable"},
        name="item_not_applicable",
    ),
    path("migrations/<int:pk>/items/<int:item_pk>/blocked/", views.item_mark, {"mark": "blocked"}, name="item_blocked"),
    # Reminders: a person's own settings, and the public token URLs (one-click unsubscribe, calendar feed).
    path("reminders/", reminder_views.preferences, name="preferences"),
    path("reminders/calendar-link/", reminder_views.calendar_link, name="calendar_link"),
    path("reminders/unsubscribe/<token:token>/", reminder_views.unsubscribe, name="unsubscribe"),
    path("reminders/calendar/<token:token>.ics", reminder_views.calendar_feed_view, name="calendar_feed"),
]
