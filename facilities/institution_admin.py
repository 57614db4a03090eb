"""Writes of institution administrators (`Role.INSTITUTION_ADMIN`) over their own institution: members
and their roles, leavers, funding accounts and who may charge them, invitations, research groups and
their limits. Platform administrators may do the same for every institution. Each write names its actor
for the audit trail (docs/identity.md)."""

import datetime as dt
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import records_actor

from .models import (
    Facility,
    FundingAccount,
    GroupHourLimit,
    GroupMember,
    GroupSpendingLimit,
    Institution,
    Instrument,
    Invitation,
    Membership,
    ResearchGroup,
    User,
)
from .models.invitations import invitation_digest, new_invitation_key
from .models.tenants import Role
from .selectors import administers

INVITATION_DAYS = 14


def require_admin_of(actor: User, institution: Institution) -> None:
    if not administers(actor, institution.pk):
        raise PermissionDenied(_("Only this institution's administrators may do that."))


def _member_ids(institution: Institution) -> set[int]:
    return set(Membership.objects.filter(institution=institution).values_list("user_id", flat=True))


@records_actor
def member_grant(
    *, actor: User, institution: Institution, user: User, role: str, facility_codes: list[str] | None = None
) -> Membership:
    """Give `user` a role at the institution (again: changes nothing but the managed facilities)."""
    require_admin_of(actor, institution)
    if role not in Role.values:
        raise ValidationError(_("Unknown role; choose one of: %(roles)s.") % {"roles": ", ".join(Role.values)})
    if not user.is_active:
        raise ValidationError(_("This account is deactivated."))
    facilities: list[Facility] = []
    if role == Role.FACILITY_MANAGER:
        codes = sorted(set(facility_codes or []))
        facilities = list(Facility.objects.filter(host=institution, code__in=codes))
        if not codes or len(facilities) != len(codes):
            raise ValidationError(_("A facility manager manages facilities this institution hosts; name them."))
    elif facility_codes:
        raise ValidationError(_("Only facility managers are given facilities."))
    with transaction.atomic():
        membership, _created = Membership.objects.get_or_create(user=user, institution=institution, role=role)
        if role == Role.FACILITY_MANAGER:
            membership.facilities.set(facilities)
    return membership


@records_actor
def member_revoke(*, actor: User, membership: Membership) -> None:
    """Take a role away. An administrator does not take their own administrator role (ask another)."""
    require_admin_of(actor, membership.institution)
    if membership.user_id == actor.pk and membership.role == Role.INSTITUTION_ADMIN:
        raise ValidationError(_("You cannot take away your own administrator role; ask another administrator."))
    with transaction.atomic():
        membership.delete()


@records_actor
def member_deactivate(*, actor: User, institution: Institution, user: User) -> int:
    """A leaver: every role at this institution ends, they may no longer charge its accounts, and they
    leave its research groups. Someone who then belongs nowhere can no longer sign in (their API tokens
    end too). Returns the number of roles ended."""
    require_admin_of(actor, institution)
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    if user.pk not in _member_ids(institution):
        raise ValidationError(_("This person is not a member of your institution."))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not Membership.objects.filter(user=user).exclude(institution=institution).exists():
            # Before the roles end, so that the entry is still filed under this institution.
            locked.is_active = False
            locked.save(update_fields=["is_active"])
        ended = 0
        for membership in Membership.objects.select_for_update().filter(user=user, institution=institution):
            membership.delete()
            ended += 1
        for account in FundingAccount.objects.filter(institution=institution, members=user):
            account.members.remove(user)
        for group_member in GroupMember.objects.filter(user=user, group__institution=institution):
            group_member.delete()
    return ended


def _people(institution: Institution, usernames: list[str]) -> list[User]:
    names = sorted(set(usernames))
    people = list(User.objects.filter(username__in=names, memberships__institution=institution).distinct())
    missing = sorted(set(names) - {u.username for u in people})
    if missing:
        raise ValidationError(
            _("Not members of this institution: %(names)s.") % {"names": ", ".join(missing)},
        )
    return people


@records_actor
def account_create(
    *,
    actor: User,
    institution: Institution,
    code: str,
    title: str,
    principal_investigator: str,
    valid_from: dt.date,
    valid_until: dt.date,
    budget_cap: Decimal | None,
    kind: str = FundingAccount.Kind.GRANT,
    members: list[str] | None = None,
) -> FundingAccount:
    require_admin_of(actor, institution)
    (pi,) = _people(institution, [principal_investigator])
    named = _people(institution, members or [])
    account = FundingAccount(
        institution=institution,
        code=code,
        title=title,
        kind=kind,
        principal_investigator=pi,
        valid_from=valid_from,
        valid_until=valid_until,
        budget_cap=budget_cap,
    )
    account.full_clean()
    with transaction.atomic():
        account.save()
        account.members.set(named)
    return account


@records_actor
def account_update(
    *,
    actor: User,
    account: FundingAccount,
    budget_cap: Decimal | None | object = ...,
    valid_until: dt.date | None = None,
    active: bool | None = None,
) -> FundingAccount:
    require_admin_of(actor, account.institution)
    with transaction.atomic():
        locked = FundingAccount.objects.select_for_update().get(pk=account.pk)
        if budget_cap is not ...:
            locked.budget_cap = budget_cap  # type: ignore[assignment]
        if valid_until is not None:
            locked.valid_until = valid_until
        if active is not None:
            locked.active = active
        locked.full_clean()
        locked.save()
    return locked


@records_actor
def account_set_members(*, actor: User, account: FundingAccount, usernames: list[str]) -> FundingAccount:
    """Who besides the principal investigator may charge the account: members of any institution who
    are already members of this one, or of a research group that uses the account."""
    require_admin_of(actor, account.institution)
    names = sorted(set(usernames))
    grouped = set(
        GroupMember.objects.filter(group__accounts=account, user__username__in=names).values_list(
            "user__username", flat=True
        )
    )
    people = _people(account.institution, [n for n in names if n not in grouped])
    people += list(User.objects.filter(username__in=grouped))
    with transaction.atomic():
        account.members.set(people)
    return account


# Invitations ---------------------------------------------------------------------------------------


@records_actor
def invitation_create(*, actor: User, institution: Institution, email: str, role: str = Role.RESEARCHER) -> str:
    """Invite a person by e-mail to a role at the institution. Returns the key (sent only by mail)."""
    require_admin_of(actor, institution)
    if role not in Role.values or role == Role.FACILITY_MANAGER:
        raise ValidationError(_("Invite as researcher, finance or institution administrator; give facilities later."))
    key = new_invitation_key()
    invitation = Invitation(
        institution=institution,
        email=email.strip(),
        role=role,
        digest=invitation_digest(key),
        invited_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
    )
    invitation.full_clean(exclude=["digest"])
    with transaction.atomic():
        invitation.save()
        transaction.on_commit(partial(_send_invitation, invitation.pk, key))
    return key


def _send_invitation(invitation_id: int, key: str) -> None:
    invitation = Invitation.objects.select_related("institution").get(pk=invitation_id)
    link = f"{settings.SITE_URL.rstrip('/')}/invitations/{key}/"
    subject = _("Invitation to %(institution)s on Sanjiao") % {"institution": invitation.institution.name}
    body = _(
        "You are invited to join %(institution)s on Sanjiao as %(role)s.\n\nAccept within %(days)s days: %(link)s\n"
    ) % {
        "institution": invitation.institution.name,
        "role": invitation.get_role_display(),
        "days": INVITATION_DAYS,
        "link": link,
    }
    send_mail(subject, body, None, [invitation.email])


def invitation_accept(*, key: str, user: User | None, username: str = "", password: str = "") -> Membership:
    """Accept an invitation: as the signed-in person, or by making a new account with the invited
    address. A key works once and until it expires."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("institution")
            .filter(digest=invitation_digest(key))
            .first()
        )
        if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= timezone.now():
            raise ValidationError(_("This invitation is unknown, used or expired."))
        if user is None:
            if not username or not password:
                raise ValidationError(_("Choose a username and a password, or sign in first."))
            if User.objects.filter(username=username).exists():
                raise ValidationError(_("That username is taken."))
            user = User(username=username, email=invitation.email)
            validate_password(password, user)
            user.set_password(password)
            try:
                with transaction.atomic():
                    user.save()
            except IntegrityError as exc:
                raise ValidationError(_("That username is taken.")) from exc
        membership, _created = Membership.objects.get_or_create(
            user=user, institution=invitation.institution, role=invitation.role
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


# Research groups -----------------------------------------------------------------------------------


def require_group_admin(actor: User, group: ResearchGroup) -> None:
    """The group's leader, or an administrator of its institution."""
    if group.leader_id != actor.pk and not administers(actor, group.institution_id):
        raise PermissionDenied(_("Only the group's leader or its institution's administrators may do that."))


@records_actor
def group_create(*, actor: User, institution: Institution, name: str, leader: str) -> ResearchGroup:
    require_admin_of(actor, institution)
    (lead,) = _people(institution, [leader])
    group = ResearchGroup(institution=institution, name=name, leader=lead)
    group.full_clean()
    group.save()
    return group


@records_actor
def group_member_add(*, actor: User, group: ResearchGroup, username: str, kind: str) -> GroupMember:
    """Members may come from any institution."""
    require_group_admin(actor, group)
    if kind not in GroupMember.Kind.values:
        raise ValidationError(
            _("Unknown kind; choose one of: %(kinds)s.") % {"kinds": ", ".join(GroupMember.Kind.values)}
        )
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError(_("No active person has that username."))
    member, created = GroupMember.objects.get_or_create(group=group, user=user, defaults={"kind": kind})
    if not created and member.kind != kind:
        member.kind = kind
        member.save(update_fields=["kind"])
    return member


@records_actor
def group_member_remove(*, actor: User, group: ResearchGroup, username: str) -> None:
    require_group_admin(actor, group)
    members = list(GroupMember.objects.filter(group=group, user__username=username))
    if not members:
        raise ValidationError(_("This person is not a member of the group."))
    for member in members:
        member.delete()


@records_actor
def group_limit_set(
    *, actor: User, group: ResearchGroup, instrument: Instrument, period: str, max_hours: int | None
) -> GroupHourLimit | None:
    """Set (or with `max_hours=None` remove) the group's limit of hours on an instrument per period."""
    require_admin_of(actor, group.institution)
    if period not in GroupHourLimit.Period.values:
        raise ValidationError(_("A group limit's period is a month or a quarter."))
    with transaction.atomic():
        existing = GroupHourLimit.objects.select_for_update().filter(group=group, instrument=instrument, period=period)
        if max_hours is None:
            for limit in existing:
                limit.delete()
            return None
        limit = existing.first() or GroupHourLimit(group=group, instrument=instrument, period=period, max_hours=0)
        limit.max_hours = max_hours
        limit.save()
    return limit


@records_actor
def group_spending_limit_set(
    *, actor: User, group: ResearchGroup, account: FundingAccount, max_amount: Decimal | None
) -> GroupSpendingLimit | None:
    """Set (or with `max_amount=None` remove) what the group may spend a month on one of its accounts."""
    require_admin_of(actor, group.institution)
    if not group.accounts.filter(pk=account.pk).exists():
        raise ValidationError(_("That account is not one of the group's accounts."))
    with transaction.atomic():
        existing = GroupSpendingLimit.objects.select_for_update().filter(group=group, account=account)
        if max_amount is None:
            for limit in existing:
                limit.delete()
            return None
        limit = existing.first() or GroupSpendingLimit(group=group, account=account, max_amount=max_amount)
        limit.max_amount = max_amount
        limit.full_clean()
        limit.save()
    return limit
