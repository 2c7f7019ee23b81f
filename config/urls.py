from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from migrations_app.views import signin
from migrations_app.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The admin signs in through the product's sign-in (throttled, two-factor), not its own form;
    # a signed-in person who is not staff gets the 403 page from it.
    path("admin/login/", signin.admin_sign_in),
    # And signs out through it: the same security log and "You have signed out" on the sign-in page.
    path("admin/logout/", signin.sign_out),
    path("admin/", admin.site.urls),
    path("accounts/login/", signin.sign_in, name="login"),
    path("accounts/logout/", signin.sign_out, name="logout"),
    path("accounts/two-factor/", signin.two_factor_manage, name="two_factor_manage"),
    path("accounts/two-factor/set-up/", signin.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/verify/", signin.two_factor_verify, name="two_factor_verify"),
    path("accounts/two-factor/turn-off/", signin.two_factor_disable, name="two_factor_disable"),
    # Django's, with the service's wording.
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=signin.PasswordResetForm),
        name="password_reset",
    ),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(form_class=signin.PasswordChangeForm),
        name="password_change",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=signin.SetPasswordForm),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("migrations_app.api.urls")),
    path("", include("migrations_app.urls")),
]

handler403 = "migrations_app.views.errors.permission_denied"
handler404 = "migrations_app.views.errors.page_not_found"
