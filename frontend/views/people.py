"""Institution administrators' pages (their institution's people, invitations, accounts), the
invitation a person accepts, and research groups. Thin adapters over facilities/institution_admin.py."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.selectors import group_spending
from booking.selectors import group_usage
from facilities import institution_admin as services
from facilities import joining
from facilities.models import FundingAccount, GroupMember, Institution, JoinRequest, Membership, User
from facilities.models.tenants import Role
from facilities.selectors import (
    administered_institution_ids,
    administers,
    groups_visible_to,
    join_requests_for,
    members_of,
)

from ..errors import messages_of
from ..templatetags.sanjiao import zh_or_en
from .access import role_required

INVITABLE = [(r.value, r.label) for r in Role if r != Role.FACILITY_MANAGER]


class GrantForm(forms.Form):
    username = forms.CharField(label=_l("Username"), max_length=150)
    role = forms.ChoiceField(label=_l("Role"), choices=Role.choices)
    facilities = forms.CharField(
        label=_l("Facilities"),
        max_length=500,
        required=False,
        help_text=_l("For facility managers: codes of facilities your institution hosts, separated by commas."),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_l("E-mail"))
    role = forms.ChoiceField(label=_l("Role"), choices=INVITABLE, initial=Role.RESEARCHER)


class UsernameForm(forms.Form):
    username = forms.CharField(label=_l("Username"), max_length=150)


class NewAccountForm(forms.Form):
    username = forms.CharField(label=_l("Username"), max_length=150)
    password = forms.CharField(label=_l("Password"), max_length=128, strip=False, widget=forms.PasswordInput)


class GroupMemberForm(forms.Form):
    username = forms.CharField(label=_l("Username"), max_length=150)
    kind = forms.ChoiceField(label=_l("Kind"), choices=GroupMember.Kind.choices)


def _institution(request, code: str) -> Institution:
    institution = Institution.objects.filter(code__iexact=code).first()
    if institution is None or not administers(request.user, institution.pk):
        raise PermissionDenied(_("Only this institution's administrators may do that."))
    return institution


@role_required(Role.INSTITUTION_ADMIN, "platform_admin")
def people_home(request):
    ids = sorted(administered_institution_ids(request.user))
    institution = Institution.objects.filter(pk__in=ids).order_by("code").first()
    if institution is None:
        raise Http404(_("You administer no institution."))
    return redirect("frontend:people", code=institution.code)


def _people_page(request, institution, *, grant=None, invite=None, status=200):
    context = {
        "institution": institution,
        "memberships": list(members_of(institution)[:500]),
        "accounts": list(
            FundingAccount.objects.filter(institution=institution)
            .select_related("principal_investigator")
            .prefetch_related("members")
            .order_by("code")[:500]
        ),
        "groups": list(groups_visible_to(request.user).filter(institution=institution).order_by("name")),
        "join_requests": list(join_requests_for(institution).filter(state=JoinRequest.State.PENDING)[:200]),
        "grant_form": grant or GrantForm(prefix="grant"),
        "invite_form": invite or InviteForm(prefix="invite"),
        "nav": "people",
    }
    return render(request, "frontend/people/institution.html", context, status=status)


@never_cache
@role_required(Role.INSTITUTION_ADMIN, "platform_admin")
def people(request, code: str):
    return _people_page(request, _institution(request, code))


def _refused(form, exc) -> None:
    for field, text in messages_of(exc):
        form.add_error(field if field in form.fields else None, text)


@require_POST
@role_required(Role.INSTITUTION_ADMIN, "platform_admin")
def people_grant(request, code: str):
    institution = _institution(request, code)
    form = GrantForm(request.POST, prefix="grant")
    if form.is_valid():
        d = form.cleaned_data
        user = User.objects.filter(username=d["username"]).first()
        try:
            if user is None:
                raise ValidationError({"username": _("No active person has that username.")})
            codes = [c.strip() for c in d["facilities"].split(",") if c.strip()]
            services.member_grant(
                actor=request.user, institution=institution, user=user, role=d["role"], facility_codes=codes
            )
            messages.success(request, _("%(name)s is now %(role)s.") % {"name": user.username, "role": d["role"]})
            return redirect("frontend:people", code=institution.code)
        except (ValidationError, PermissionDenied) as exc:
            _refused(form, exc)
    return _people_page(request, institution, grant=form, status=400)


@require_POST
@role_required(Role.INSTITUTION_ADMIN, "platform_admin")
def people_invite(request, code: str):
    institution = _institution(request, code)
    form = InviteForm(request.POST, prefix="invite")
    if form.is_valid():
        try:
            services.invitation_create(
                actor=request.user,
                institution=institution,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
            messages.success(request, _("The invitation is sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("frontend:people", code=institution.code)
        except (ValidationError, PermissionDenied) as exc:
            _refused(form, exc)
    return _people_page(request, institution, invite=form, status=400)


@require_POST
@role_required(Role.INSTITUTION_ADMIN, "platform_admin")
def people_join_decide(request, code: str, pk: int):
    """Approve or decline a request to join (facilities/joining.py)."""
    institution = _institution(request, code)
    join_request = get_object_or_404(JoinRequest.objects.select_related("user"), pk=pk, institution=institution)
    approve = request.POST.get("decision") == "approve"
    try:
        joining.decide_join_request(actor=request.user, join_request=join_request, approve=approve)
        text = _("%(name)s is now a researcher here.") if approve else _("The request of %(name)s is declined.")
        messages.success(request, text % {"name": join_request.user.username})
    except (ValidationError, PermissionDenied) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
    return redirect("frontend:people", code=institution.code)


@require_POST
@role_required(Role.INSTITUTION_ADMIN, "platform_admin")
def people_revoke(request, code: str, pk: int):
    institution = _institution(request, code)
    membership = get_object_or_404(Membership, pk=pk, institution=institution)
    try:
        services.member_revoke(actor=request.user, membership=membership)
        messages.success(request, _("The role is taken away."))
    except (ValidationError, PermissionDenied) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
    return redirect("frontend:people", code=institution.code)


@require_POST
@role_required(Role.INSTITUTION_ADMIN, "platform_admin")
def people_deactivate(request, code: str):
    institution = _institution(request, code)
    form = UsernameForm(request.POST)
    user = User.objects.filter(username=request.POST.get("username", "")).first() if form.is_valid() else None
    try:
        if user is None:
            raise ValidationError(_("This person is not a member of your institution."))
        ended = services.member_deactivate(actor=request.user, institution=institution, user=user)
        messages.success(request, _("%(name)s has left: %(n)s roles ended.") % {"name": user.username, "n": ended})
    except (ValidationError, PermissionDenied) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
    return redirect("frontend:people", code=institution.code)


@never_cache
def invitation(request, key: str):
    """The link of the invitation mail: accept as the signed-in person, or make an account."""
    signed_in = request.user.is_authenticated
    form = None if signed_in else NewAccountForm()
    if request.method == "POST":
        form = None if signed_in else NewAccountForm(request.POST)
        if form is None or form.is_valid():
            try:
                membership = services.invitation_accept(
                    key=key,
                    user=request.user if signed_in else None,
                    username="" if form is None else form.cleaned_data["username"],
                    password="" if form is None else form.cleaned_data["password"],
                )
                if not signed_in:
                    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(
                    request,
                    _("Welcome: you are %(role)s at %(institution)s.")
                    % {"role": membership.get_role_display(), "institution": zh_or_en(membership.institution)},
                )
                return redirect("frontend:home")
            except ValidationError as exc:
                if form is None:
                    for _field, text in messages_of(exc):
                        messages.error(request, text)
                else:
                    _refused(form, exc)
        return render(request, "frontend/people/invitation.html", {"form": form}, status=400)
    return render(request, "frontend/people/invitation.html", {"form": form})


@role_required(Role.RESEARCHER, Role.INSTITUTION_ADMIN, "platform_admin")
def groups(request):
    rows = list(groups_visible_to(request.user).order_by("institution__code", "name")[:200])
    return render(request, "frontend/people/groups.html", {"groups": rows, "nav": "groups"})


def _group_page(request, group, *, form=None, status=200):
    context = {
        "group": group,
        "members": list(GroupMember.objects.filter(group=group).select_related("user").order_by("user__username")),
        "accounts": list(group.accounts.order_by("code")),
        "limits": group_usage(group, now=timezone.now()),
        "spending": group_spending(group, now=timezone.now()),
        "may_manage": group.leader_id == request.user.pk or administers(request.user, group.institution_id),
        "form": form or GroupMemberForm(),
        "nav": "groups",
    }
    return render(request, "frontend/people/group.html", context, status=status)


@never_cache
@role_required(Role.RESEARCHER, Role.INSTITUTION_ADMIN, "platform_admin")
def group_page(request, pk: int):
    group = groups_visible_to(request.user).filter(pk=pk).first()
    if group is None:
        raise Http404(_("No such research group."))
    if request.method != "POST":
        return _group_page(request, group)
    form = GroupMemberForm(request.POST)
    if form.is_valid():
        try:
            services.group_member_add(
                actor=request.user, group=group, username=form.cleaned_data["username"], kind=form.cleaned_data["kind"]
            )
            messages.success(request, _("%(name)s is in the group.") % {"name": form.cleaned_data["username"]})
            return redirect("frontend:group", pk=group.pk)
        except (ValidationError, PermissionDenied) as exc:
            _refused(form, exc)
    return _group_page(request, group, form=form, status=400)
