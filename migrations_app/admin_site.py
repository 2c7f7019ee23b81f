"""The Django admin's site: our titles, and two guards Django's own admin lacks.

Installed in place of django.contrib.admin (settings.INSTALLED_APPS), so `admin.site` is this site
for every app that registers with it.
"""

from contextvars import ContextVar
from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.helpers import AdminReadonlyField
from django.contrib.admin.options import TO_FIELD_VAR

# The request an admin view is answering, for the read-only fields' links (_link_if_viewable).
_request: ContextVar = ContextVar("admin_request", default=None)


class TrackerAdminSite(admin.AdminSite):
    site_header = "GP migration tracker administration"
    site_title = "GP migration tracker"
    # No menu of every model beside each page: the lists (migrations, items, events, deliveries)
    # need the width at 1,280 px, and the home page and the breadcrumbs lead to every model.
    enable_nav_sidebar = False

    def each_context(self, request):
        """No "View site" link for someone who reads no migration (a template editor): the site's
        home page would send them back here."""
        from migrations_app import access  # (imported here: the admin site is set up before the models)

        context = super().each_context(request)
        if access.standing_of(request.user).reads_no_migration:
            context["site_url"] = None
        return context

    def admin_view(self, view, cacheable=False):
        """Every admin view, refusing an empty `_to_field` as a bad request (400). Django's change
        pages check the field only when one is named, then look up a field named "", which is a 500."""
        wrapped = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.GET.get(TO_FIELD_VAR) == "" or request.POST.get(TO_FIELD_VAR) == "":
                raise DisallowedModelAdminToField("The field to select by is empty.")
            token = _request.set(request)
            try:
                response = wrapped(request, *args, **kwargs)
                # Rendered here, while the request is known (no middleware of ours changes a
                # TemplateResponse before it is rendered).
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
                return response
            finally:
                _request.reset(token)

        return update_wrapper(inner, wrapped)


_django_admin_url = AdminReadonlyField.get_admin_url


def _link_if_viewable(self, remote_field, remote_obj):
    """A read-only field naming another object (a migration's checklist version, a practice's ICB)
    links to that object's admin page only for someone who may open it. Django links it whatever
    the person's permissions, so a support admin reading a practice was sent to a 403 from its ICB."""
    request = _request.get()
    related_admin = self.model_admin.admin_site._registry.get(remote_field.model)
    if request is None or related_admin is None or not related_admin.has_view_or_change_permission(request, remote_obj):
        return str(remote_obj)
    return _django_admin_url(self, remote_field, remote_obj)


class TrackerAdminConfig(AdminConfig):
    default_site = "migrations_app.admin_site.TrackerAdminSite"

    def ready(self) -> None:
        super().ready()
        AdminReadonlyField.get_admin_url = _link_if_viewable
