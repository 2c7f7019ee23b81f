from django.urls import path, register_converter

from migrations_app import views
from migrations_app.views import api_tokens as api_token_views
from migrations_app.views import check_ins as check_in_views
from migrations_app.views import conditions as conditions_views
from migrations_app.views import dashboard as dashboard_views
from migrations_app.views import lifecycle as lifecycle_views
from migrations_app.views import people as people_views
from migrations_app.views import portfolio as portfolio_views
from migrations_app.views import record as record_views
from migrations_app.views import reminders as reminder_views
from migrations_app.views import retrospectives as retrospective_views
from migrations_app.views import upgrades as upgrade_views

app_name = "migrations"


class TokenConverter:
    """The credentials in public URLs (reminders, invitations): a signed value (letters, digits, "-",
    "_", ":", "."), a random URL-safe token or an invitation's "<id>-<HMAC>". Anything else is no
    token of ours, and a 404 before any look-up."""

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
    # Starting migrations: one with the start form, or many from an order tracker (upload, preview, confirm).
    path("migrations/new/", portfolio_views.migration_start, name="migration_start"),
    path("migrations/import/", portfolio_views.import_upload, name="import_upload"),
    path("migrations/import/<int:pk>/", portfolio_views.import_preview, name="import_preview"),
    path(
        "migrations/import/template.csv", portfolio_views.import_template, {"kind": "csv"}, name="import_template_csv"
    ),
    path(
        "migrations/import/template.xlsx",
        portfolio_views.import_template,
        {"kind": "xlsx"},
        name="import_template_xlsx",
    ),
    path("migrations/<int:pk>/", views.migration_detail, name="migration_detail"),
    # The migration's record: one printable page, and the same facts as a PDF (read-only).
    path("migrations/<int:pk>/record/", record_views.migration_record, name="migration_record"),
    path("migrations/<int:pk>/record.pdf", record_views.migration_record_pdf, name="migration_record_pdf"),
    # After go-live, each side's retrospective; the lessons across the migrations a person can see, and their CSV.
    path("migrations/<int:pk>/retrospective/", retrospective_views.retrospective, name="retrospective"),
    path("lessons/", retrospective_views.lessons, name="lessons"),
    path("lessons/lessons.csv", retrospective_views.lessons_csv, name="lessons_csv"),
    # Weekly check-ins: every one of the migration, and the form for this week's.
    path("migrations/<int:pk>/check-ins/", check_in_views.migration_check_ins, name="migration_check_ins"),
    path("migrations/<int:pk>/milestones/", views.milestones_edit, name="milestones_edit"),
    path("migrations/<int:pk>/conditions/", conditions_views.conditions_edit, name="conditions_edit"),
    # The migration's status: on hold (with a reason), resumed (new dates previewed), cancelled for good.
    path("migrations/<int:pk>/hold/", lifecycle_views.migration_hold, name="migration_hold"),
    path("migrations/<int:pk>/resume/", lifecycle_views.migration_resume, name="migration_resume"),
    path("migrations/<int:pk>/cancel/", lifecycle_views.migration_cancel, name="migration_cancel"),
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
    # Name the person who owns an item, or give it back to its responsible role.
    path("migrations/<int:pk>/items/<int:item_pk>/owner/", views.item_owner, name="item_owner"),
    path("migrations/<int:pk>/items/<int:item_pk>/due-date/", views.items.item_due_date, name="item_due_date"),
    path(
        "migrations/<int:pk>/items/<int:item_pk>/not-applicable/",
        views.item_mark,
        {"mark": "not-applicable"},
        name="item_not_applicable",
    ),
    path("migrations/<int:pk>/items/<int:item_pk>/blocked/", views.item_mark, {"mark": "blocked"}, name="item_blocked"),
    # People: invite someone to a migration's practice, send a pending invitation again or cancel it,
    # remove a member (a confirmation page, then the removal); the same for a delivery partner's or an
    # ICB's own team; the public link in an invitation e-mail (its token is the credential), and
    # accepting it signed in.
    path("migrations/<int:pk>/people/invite/", people_views.people_invite, name="people_invite"),
    path(
        "migrations/<int:pk>/people/invitations/<int:invitation_pk>/resend/",
        people_views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "migrations/<int:pk>/people/invitations/<int:invitation_pk>/cancel/",
        people_views.invitation_cancel,
        name="invitation_cancel",
    ),
    path("migrations/<int:pk>/people/<int:membership_pk>/remove/", people_views.member_remove, name="member_remove"),
    path("migrations/<int:pk>/people/<int:membership_pk>/role/", people_views.member_role, name="member_role"),
    path("team/", people_views.team, name="team"),
    path(
        "team/delivery-partners/<int:partner_pk>/check-in-day/",
        check_in_views.check_in_day,
        name="check_in_day",
    ),
    path(
        "team/invitations/<int:invitation_pk>/resend/",
        people_views.team_invitation_resend,
        name="team_invitation_resend",
    ),
    path(
        "team/invitations/<int:invitation_pk>/cancel/",
        people_views.team_invitation_cancel,
        name="team_invitation_cancel",
    ),
    path("team/<int:membership_pk>/remove/", people_views.team_member_remove, name="team_member_remove"),
    path("invitations/<token:token>/", people_views.invitation, name="invitation"),
    path("invitations/<token:token>/accept/", people_views.invitation_accept, name="invitation_accept"),
    # Reminders: a person's own settings, and the public token URLs (one-click unsubscribe, calendar feed).
    path("reminders/", reminder_views.preferences, name="preferences"),
    path("reminders/calendar-link/", reminder_views.calendar_link, name="calendar_link"),
    path("reminders/unsubscribe/<token:token>/", reminder_views.unsubscribe, name="unsubscribe"),
    path("reminders/calendar/<token:token>.ics", reminder_views.calendar_feed_view, name="calendar_feed"),
    # A person's own personal API tokens: make one (shown once), list them, revoke one (a confirmation page).
    path("accounts/api-tokens/", api_token_views.api_tokens, name="api_tokens"),
    path("accounts/api-tokens/<int:pk>/revoke/", api_token_views.api_token_revoke, name="api_token_revoke"),
]
