"""What the header's navigation shows a person (a template context processor, config/settings.py)."""

from functools import partial

from django.http import HttpRequest

from migrations_app import access


def navigation(request: HttpRequest) -> dict:
    """`shows_lessons_link`: the Lessons page's link, for those who may open it; the team's, the
    Reminders and API tokens links likewise, for those whom they can serve (access.gets_reminders,
    access.may_use_the_api). `home_is_admin`:
    whether the person's home is the admin (staff who read no migration: a template editor), for
    the "go to your migrations" links (includes/_home_link.html). Callables, so that a page that
    does not show them (a fragment for htmx) does not ask."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "shows_lessons_link": partial(access.may_read_lessons, user),
        "shows_team_link": partial(access.has_a_team, user),
        "shows_reminders_link": partial(access.gets_reminders, user),
        "shows_api_tokens_link": partial(access.may_use_the_api, user),
        # The header's menu: the dashboard, for those who land on it, and starting and importing
        # migrations, for those who may.
        "shows_dashboard_link": partial(_lands_on_dashboard, user),
        "shows_start_links": partial(_may_start, user),
        "home_is_admin": partial(_home_is_admin, user),
    }


def _home_is_admin(user) -> bool:
    return user.is_authenticated and user.is_staff and access.standing_of(user).reads_no_migration


def _lands_on_dashboard(user) -> bool:
    """Whether the person reads more than one practice's migrations (their home is then the
    dashboard, not one migration): from their standing, which the page has read already."""
    if not user.is_authenticated:
        return False
    standing = access.standing_of(user)
    return not (standing.reads_no_migration or standing.sees_one_practice)


def _may_start(user) -> bool:
    return user.is_authenticated and access.may_start_migrations(user)
