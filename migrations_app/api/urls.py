from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from migrations_app.api import events, items, milestones, organisations, views

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
    # A migration's items: the list (filtered), one item, and its changes, the action named in the body.
    path("v1/migrations/<int:pk>/items/", items.item_list, name="item_list"),
    path("v1/migrations/<int:pk>/items/<int:item_pk>/", items.item_detail, name="item_detail"),
    path("v1/migrations/<int:pk>/items/<int:item_pk>/actions/", items.item_action, name="item_action"),
    # Its milestones: GET as they stand, PATCH to change some (or, with "preview", see what would move).
    path("v1/migrations/<int:pk>/milestones/", milestones.milestones, name="milestones"),
    path("v1/migrations/<int:pk>/events/", events.event_list, name="event_list"),
    path("v1/organisations/", organisations.organisation_list, name="organisation_list"),
]
