"""A person's own personal API tokens: make one (shown once, in the answer to the POST that made
it), list them, revoke one.

Like the reminder settings, these act on the signed-in person only (ApiToken.objects.owned_by):
someone else's token is a 404. The pages are behind TwoFactorMiddleware as every page is, so a
person whose role needs two-factor sign-in makes a token only after entering their code.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from migrations_app import access
from migrations_app.api.forms import ApiTokenForm
from migrations_app.audit import log_security_event
from migrations_app.models import ApiToken

# Said to someone for whom a token could read nothing (access.may_use_the_api), on the page and as a 403.
NO_API = (
    "The API reads migrations, and your account reads none: it has no role at a practice, a delivery "
    "partner or an ICB. A token could read nothing, so none can be made."
)


@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    if not access.may_use_the_api(request.user):
        # Tokens made before every role was removed are still listed, to be revoked.
        if request.method == "POST":
            raise PermissionDenied(NO_API)
        tokens = ApiToken.objects.owned_by(request.user).select_related("user")
        return render(request, "migrations_app/api_tokens.html", {"tokens": tokens, "no_api": NO_API})
    today = timezone.localdate()
    form = ApiTokenForm(request.POST if request.method == "POST" else None, user=request.user, today=today)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                created, secret = ApiToken.issue(
                    request.user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    expires_on=form.cleaned_data["expires_on"],
                )
        except IntegrityError:  # the same name, made at the same moment in another tab
            form.add_error("name", f"You already have a token called {form.cleaned_data['name']}")
        else:
            log_security_event(
                "api_token_created",
                request,
                token_id=created.pk,
                scope=created.scope,
                expires_at=created.expires_at.isoformat(),
            )
            # The token is in this answer and nowhere else: not in the session, not in an address.
            form = ApiTokenForm(user=request.user, today=today)
    tokens = ApiToken.objects.owned_by(request.user).select_related("user")
    context = {"form": form, "tokens": tokens, "created": created, "secret": secret}
    return render(request, "migrations_app/api_tokens.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST revokes. A token already revoked is said to be, and left alone."""
    token = get_object_or_404(ApiToken.objects.owned_by(request.user).select_related("user"), pk=pk)
    if token.status == ApiToken.Status.REVOKED:
        messages.info(request, f"The token {token.name} is already revoked.")
        return redirect("migrations:api_tokens")
    if request.method == "POST":
        for revoked in ApiToken.objects.filter(pk=token.pk).revoke():
            log_security_event("api_token_revoked", request, token_id=revoked.pk, reason="revoked by its owner")
        messages.success(request, f"The token {token.name} is revoked. Anything using it can no longer use the API.")
        return redirect("migrations:api_tokens")
    return render(request, "migrations_app/api_token_revoke.html", {"token": token})
