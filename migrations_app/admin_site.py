"""The Django admin's site: our titles, and one guard Django's own admin lacks.

Installed in place of django.contrib.admin (settings.INSTALLED_APPS), so `admin.site` is this site
for every app that registers with it.
"""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.options import TO_FIELD_VAR


class TrackerAdminSite(admin.AdminSite):
    site_header = "GP migration tracker administration"
    site_title = "GP migration tracker"

    def admin_view(self, view, cacheable=False):
        """Every admin view, refusing an empty `_to_field` as a bad request (400). Django's change
        pages check the field only when one is named, then look up a field named "", which is a 500."""
        wrapped = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.GET.get(TO_FIELD_VAR) == "" or request.POST.get(TO_FIELD_VAR) == "":
                raise DisallowedModelAdminToField("The field to select by is empty.")
            return wrapped(request, *args, **kwargs)

        return update_wrapper(inner, wrapped)


class TrackerAdminConfig(AdminConfig):
    default_site = "migrations_app.admin_site.TrackerAdminSite"
