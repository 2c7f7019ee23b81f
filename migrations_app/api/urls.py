from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from migrations_app.api import views

app_name = "api"


def _page(view):
    """A view that is a page for a person (the documentation): signed in through the sign-in page
    and its two-factor code, as every page, where DRF's views otherwise decide for themselves."""
    view.login_required = True
    return view


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The init script is a file of its own (?script), so the page needs no inline script (CSP).
    path(
        "docs/",
        _page(SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="migrations_app/api_docs.html")),
        name="docs",
    ),
    path("v1/migrations/", views.migration_list, name="migration_list"),
    path("v1/migrations/<int:pk>/", views.migration_detail, name="migration_detail"),
]
