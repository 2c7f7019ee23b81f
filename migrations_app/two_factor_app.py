"""The app config of django-otp's TOTP devices (INSTALLED_APPS names it in place of the app), apart
from apps.py: Django picks a module's only AppConfig as its app's config, so apps.py holds one."""

from django_otp.plugins.otp_totp.apps import DefaultConfig


class TwoFactorDevicesConfig(DefaultConfig):
    """django_otp.plugins.otp_totp, named in the admin (its breadcrumbs and index) as people know it
    rather than by the app's label ("Otp_Totp")."""

    verbose_name = "Two-factor sign-in"
