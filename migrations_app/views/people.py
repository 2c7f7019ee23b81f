"""People: inviting someone to a practice and managing its invitations and members (from its
migration page), a delivery partner's or an ICB's own team ("Your team"), and the link in an
invitation e-mail.

Who may do what is asked of `access` (its fetch helpers answer 404 or 403); the changes are the
verbs of migrations_app/invitations/inviting.py. The invitation link is public, its token the
credential, and its page shows nothing beyond the invitation it opens. Someone with an account
accepts at a second URL that needs sign-in, so that being signed in there means all of it,
two-factor included: TwoFactorMiddleware sees to that page, as to every page that is not public.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from migrations_app import access, checklist
from migrations_app.audit import log_security_event
from migrations_app.invitations import inviting, people
from migrations_app.invitations.forms import InviteForm, NewAccountForm, RoleForm
from migrations_app.middleware import start_session
from migrations_app.models import ICB, DeliveryPartner, Invitation, Membership, PracticeMigration, User
from migrations_app.models.invitations import INVITATION_DAYS, InvitationState
from migrations_app.sessions import USER_BACKEND
from migrations_app.views.signin import account_name

# --- a practice's people, from its migration page ---------------------------------------------------


@require_http_methods(["GET", "POST"])
def people_invite(request: HttpRequest, pk: int) -> HttpResponse:
    migration, roles = access.get_people_of(request.user, pk)
    form = InviteForm(request.POST if request.method == "POST" else None, organisation=migration.practice, roles=roles)
    if request.method == "POST" and form.is_valid() and _invite(request, form):
        return _back_to_people(migration)
    return render(
        request,
        "migrations_app/people_invite.html",
        {"migration": migration, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
def invitation_resend(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    migration, invitation = access.get_practice_invitation(request.user, pk, invitation_pk)
    _resend(request, invitation)
    return _back_to_people(migration)


@require_http_methods(["GET", "POST"])
def invitation_cancel(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    """A confirmation page, then the cancelling."""
    migration, invitation = access.get_practice_invitation(request.user, pk, invitation_pk)
    if request.method == "POST":
        _cancel(request, invitation)
        return _back_to_people(migration)
    return _confirm_cancel(request, invitation, _people_url(migration))


@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    """A confirmation page, then the removal."""
    migration, membership = access.get_practice_member(request.user, pk, membership_pk)
    back_url = _people_url(migration)
    if request.method == "POST":
        _remove(request, membership)
        return redirect(back_url)
    return render(request, "migrations_app/member_remove.html", {"membership": membership, "back_url": back_url})


@require_http_methods(["GET", "POST"])
def member_role(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    """Give someone at the practice another role, without inviting them again."""
    migration, membership, roles = access.get_practice_member_to_change(request.user, pk, membership_pk)
    back_url = _people_url(migration)
    form = RoleForm(request.POST if request.method == "POST" else None, current=membership.role, roles=roles)
    if request.method == "POST" and form.is_valid():
        old_role, new_role = membership.role, form.cleaned_data["role"]
        if inviting.change_role(membership, new_role, by=request.user):
            messages.success(
                request,
                f"{membership.user} is now {people.role_phrase(membership.role)} at {membership.organisation}, "
                f"no longer {people.role_phrase(old_role)}.",
                extra_tags=AT_PEOPLE,
            )
        else:
            messages.info(
                request,
                f"Nothing changed: {membership.user} is already {people.role_phrase(new_role)} at "
                f"{membership.organisation}, or no longer there. Someone else may have changed it.",
                extra_tags=AT_PEOPLE,
            )
        return redirect(back_url)
    return render(
        request,
        "migrations_app/member_role.html",
        {
            "membership": membership,
            "form": form,
            "back_url": back_url,
            "only_manager": inviting.is_only_practice_manager(membership),
        },
        status=400 if form.errors else 200,
    )


def _people_url(migration: PracticeMigration) -> str:
    return reverse("migrations:migration_detail", kwargs={"pk": migration.pk}) + "#people"


def _back_to_people(migration: PracticeMigration) -> HttpResponse:
    return redirect(_people_url(migration))


# --- a delivery partner's or an ICB's team ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    """The teams the person belongs to (a delivery partner, an ICB): colleagues, pending invitations
    and a form to invite a colleague. Anyone else is told they have none."""
    teams = access.teams_of(request.user)
    posted = None
    if request.method == "POST":
        posted = _posted_team(teams, request.POST.get("team", ""))
    sections = []
    for each in teams:
        form = InviteForm(
            request.POST if each is posted else None,
            organisation=each,
            roles=access.roles_to_invite(request.user, each),
            auto_id=f"{team_key(each)}-%s",
        )
        if each is posted and form.is_valid() and _invite(request, form):
            return redirect("migrations:team")
        sections.append(
            {"team": each, "key": team_key(each), "people": people.team_people(request.user, each), "form": form}
        )
    errors = any(section["form"].errors for section in sections)
    return render(
        request, "migrations_app/team.html", {"sections": sections, "errors": errors}, status=400 if errors else 200
    )


def team_key(organisation: DeliveryPartner | ICB) -> str:
    return f"{'delivery-partner' if isinstance(organisation, DeliveryPartner) else 'icb'}-{organisation.pk}"


def _posted_team(teams: list, key: str) -> DeliveryPartner | ICB:
    """The team a colleague is invited to: the one named, or the person's only one; else a 404."""
    if not key and len(teams) == 1:
        return teams[0]
    for each in teams:
        if team_key(each) == key:
            return each
    raise Http404("Not one of your teams.")


@require_POST
def team_invitation_resend(request: HttpRequest, invitation_pk: int) -> HttpResponse:
    _resend(request, access.get_team_invitation(request.user, invitation_pk))
    return redirect("migrations:team")


@require_http_methods(["GET", "POST"])
def team_invitation_cancel(request: HttpRequest, invitation_pk: int) -> HttpResponse:
    """A confirmation page, then the cancelling."""
    invitation = access.get_team_invitation(request.user, invitation_pk)
    if request.method == "POST":
        _cancel(request, invitation)
        return redirect("migrations:team")
    return _confirm_cancel(request, invitation, reverse("migrations:team"))


def _confirm_cancel(request: HttpRequest, invitation: Invitation, back_url: str) -> HttpResponse:
    """Whether to cancel `invitation`: it is not undone (a new one would be sent), so asked first."""
    if invitation.state() in (InvitationState.ACCEPTED, InvitationState.CANCELLED):
        done = "accepted" if invitation.state() == InvitationState.ACCEPTED else "cancelled"
        messages.info(request, f"The invitation to {invitation.email} was {done} already.", extra_tags=AT_PEOPLE)
        return redirect(back_url)
    return render(request, "migrations_app/invitation_cancel.html", {"invitation": invitation, "back_url": back_url})


@require_http_methods(["GET", "POST"])
def team_member_remove(request: HttpRequest, membership_pk: int) -> HttpResponse:
    """A confirmation page, then the removal."""
    membership = access.get_team_member(request.user, membership_pk)
    if request.method == "POST":
        _remove(request, membership)
        return redirect("migrations:team")
    back_url = reverse("migrations:team")
    return render(request, "migrations_app/member_remove.html", {"membership": membership, "back_url": back_url})


# --- the verbs, and what each tells the person ----------------------------------------------------------


# Shown in the People section of the migration page, where these actions land (#people); the top
# of the "Your team" page, which has no such section.
AT_PEOPLE = checklist.at_place("people")


def _invite(request: HttpRequest, form: InviteForm) -> bool:
    data = form.cleaned_data
    try:
        invitation = inviting.invite(
            by=request.user, email=data["email"], role=data["role"], organisation=form.organisation
        )
    except inviting.InvitationRefused as refused:
        form.add_error("email", refused)
        return False
    messages.success(
        request,
        f"Invitation sent to {invitation.email}. The link in it works for {INVITATION_DAYS} days.",
        extra_tags=AT_PEOPLE,
    )
    return True


def _resend(request: HttpRequest, invitation: Invitation) -> None:
    try:
        inviting.resend(invitation, by=request.user)
    except inviting.InvitationRefused as refused:
        messages.info(request, refused.message, extra_tags=AT_PEOPLE)
    else:
        messages.success(
            request,
            f"Invitation sent again to {invitation.email}, with a new link that works for {INVITATION_DAYS} days. "
            "The earlier link no longer works.",
            extra_tags=AT_PEOPLE,
        )


def _cancel(request: HttpRequest, invitation: Invitation) -> None:
    try:
        inviting.cancel(invitation, by=request.user)
    except inviting.InvitationRefused as refused:
        messages.info(request, refused.message, extra_tags=AT_PEOPLE)
    else:
        messages.success(
            request,
            f"The invitation to {invitation.email} is cancelled. Its link no longer works.",
            extra_tags=AT_PEOPLE,
        )


def _remove(request: HttpRequest, membership: Membership) -> None:
    if inviting.remove_member(membership, by=request.user):
        messages.success(
            request,
            f"{membership.user} is no longer {people.role_phrase(membership.role)} at {membership.organisation}.",
            extra_tags=AT_PEOPLE,
        )


# --- the link in an invitation e-mail ----------------------------------------------------------------


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link. Signed in: on to accept it (`invitation_accept`). An address with an
    account: sign in to accept. A new address: name and password, then signed in and on to the
    migration (through two-factor set-up first, if their role needs it)."""
    found = _open_invitation(request, token)
    if isinstance(found, HttpResponse):
        return found
    accept_url = reverse("migrations:invitation_accept", kwargs={"token": token})
    if request.user.is_authenticated:
        return redirect(accept_url)
    sign_in_url = f"{reverse('login')}?{urlencode({'next': accept_url}, safe='/')}"
    if User.objects.filter(email__iexact=found.email).exists():
        if request.method == "POST":
            return redirect(sign_in_url)
        return render(request, "migrations_app/invitation.html", _about(found) | {"sign_in_url": sign_in_url})
    form = NewAccountForm(request.POST if request.method == "POST" else None, email=found.email)
    if request.method == "POST" and form.is_valid() and _join_as_new_person(request, found, form):
        return redirect(_landing(request.user, found))
    return render(
        request,
        "migrations_app/invitation.html",
        _about(found) | {"form": form, "sign_in_url": sign_in_url},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Accepting an invitation with the account one is signed in to (fully: two-factor too), if it
    is the invitation's address; signed in as another, a page that says so."""
    found = _open_invitation(request, token)
    if isinstance(found, HttpResponse):
        return found
    context = _about(found) | {"link": reverse("migrations:invitation", kwargs={"token": token})}
    if account_name(request.user.email) != found.email:
        return render(request, "migrations_app/invitation_accept.html", context | {"other_address": True}, status=403)
    if request.method == "POST":
        try:
            inviting.accept(found, user=request.user)
        except inviting.InvitationRefused as refused:
            return render(
                request, "migrations_app/invitation_accept.html", context | {"refused": refused.message}, status=409
            )
        _welcome(request, request.user, found)
        return redirect(_landing(request.user, found))
    return render(request, "migrations_app/invitation_accept.html", context)


def _join_as_new_person(request: HttpRequest, invitation: Invitation, form: NewAccountForm) -> bool:
    """Make the account and accept the invitation, then sign the person in: a full sign-in, as the
    sign-in page's (middleware.start_session), so a role that needs two-factor sends them to set it
    up before any other page."""
    try:
        user, _ = inviting.accept_as_new_person(
            invitation, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["new_password1"]
        )
    except inviting.InvitationRefused as refused:
        form.add_error(None, refused)
        return False
    login(request, user, backend=USER_BACKEND)
    start_session(request.session, user)
    log_security_event("sign_in", request, user=user, through="invitation")
    _welcome(request, user, invitation)
    return True


def _open_invitation(request: HttpRequest, token: str) -> Invitation | HttpResponse:
    """The pending invitation the token opens, or the page that says why it does not: a token we
    did not make (or an earlier link of an invitation sent again) 404, a used, cancelled or
    expired invitation 410. Neither says more than the invitation itself would."""
    found = Invitation.objects.select_related("invited_by", "practice", "delivery_partner", "icb").for_token(token)
    if found is None:
        return render(request, "migrations_app/invitation_closed.html", {"state": "unknown"}, status=404)
    state = found.state()
    if state != InvitationState.PENDING:
        return render(
            request, "migrations_app/invitation_closed.html", {"state": state, "invitation": found}, status=410
        )
    return found


def _about(invitation: Invitation) -> dict:
    return {"invitation": invitation, "role": people.role_phrase(invitation.role)}


def _welcome(request: HttpRequest, user: User, invitation: Invitation) -> None:
    messages.success(
        request,
        f"Welcome, {user.full_name}. You are now {people.role_phrase(invitation.role)} at {invitation.organisation}.",
    )


def _landing(user: User, invitation: Invitation) -> str:
    """Where someone who has just joined goes: the practice's current migration, else their home
    page (a delivery partner's or an ICB's dashboard)."""
    if invitation.practice_id:
        current = access.visible_migrations(user).filter(practice_id=invitation.practice_id).unfinished().first()
        if current is not None:
            return reverse("migrations:migration_detail", kwargs={"pk": current.pk})
    return reverse("migrations:home")
