"""Joining an institution without an invitation: a person whose verified e-mail address or federated
sign-in names an institution asks to become its researcher. The institution's join policy confirms the
request at once or leaves it to its administrators (docs/identity.md, "Joining an institution")."""

from functools import partial

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common.audit import records_actor

from .institution_admin import require_admin_of
from .models import Institution, JoinRequest, Membership, User
from .models.tenants import JoinPolicy, Role


def _is_researcher(user: User, institution: Institution) -> bool:
    return Membership.objects.filter(user=user, institution=institution, role=Role.RESEARCHER).exists()


def request_membership(*, user: User, institution: Institution, via: str, affiliation: str = "") -> JoinRequest | None:
    """Ask for a researcher membership of `institution`. Returns the request: the pending one if there
    is one already, an approved one if the policy is automatic; None if `user` already is a researcher
    there (nothing to ask). A new pending request mails the institution's administrators on commit."""
    if via not in JoinRequest.Via.values:
        raise ValidationError(_("Unknown way of joining."))
    if not user.is_active:
        raise ValidationError(_("This account is deactivated."))
    with transaction.atomic():
        # The person's row serialises their requests (two sign-ins at once make one request).
        User.objects.select_for_update().filter(pk=user.pk).first()
        if _is_researcher(user, institution):
            return None
        pending = JoinRequest.objects.filter(user=user, institution=institution, state=JoinRequest.State.PENDING)
        existing = pending.first()
        if existing is not None:
            return existing
        automatic = institution.join_policy == JoinPolicy.AUTOMATIC
        join_request = JoinRequest(user=user, institution=institution, via=via, affiliation=affiliation.strip()[:64])
        if automatic:
            join_request.state = JoinRequest.State.APPROVED
            join_request.decided_at = timezone.now()
        try:
            with transaction.atomic():
                join_request.save()
        except IntegrityError:
            # Another transaction made the pending request first.
            return pending.get()
        if automatic:
            Membership.objects.get_or_create(user=user, institution=institution, role=Role.RESEARCHER)
        else:
            transaction.on_commit(partial(_tell_admins, join_request.pk))
    return join_request


@records_actor
def decide_join_request(*, actor: User, join_request: JoinRequest, approve: bool) -> JoinRequest:
    """An administrator of the institution approves (the person becomes its researcher) or declines a
    pending request. A request is decided once."""
    require_admin_of(actor, join_request.institution)
    with transaction.atomic():
        locked = JoinRequest.objects.select_for_update().select_related("institution", "user").get(pk=join_request.pk)
        if not locked.can_decide():
            raise ValidationError(
                _("This request was already decided: %(state)s.") % {"state": locked.get_state_display()}
            )
        if approve and not locked.user.is_active:
            raise ValidationError(_("This account is deactivated."))
        locked.state = JoinRequest.State.APPROVED if approve else JoinRequest.State.DECLINED
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.save(update_fields=["state", "decided_at", "decided_by"])
        if approve:
            Membership.objects.get_or_create(user=locked.user, institution=locked.institution, role=Role.RESEARCHER)
        transaction.on_commit(partial(_tell_person, locked.pk))
    return locked


def _admins_of(institution: Institution) -> list[User]:
    return list(
        User.objects.filter(
            memberships__institution=institution, memberships__role=Role.INSTITUTION_ADMIN, is_active=True
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def _language(user: User) -> str:
    return user.language if user.language in ("en", "zh-hans") else "en"


def _tell_admins(join_request_id: int) -> None:
    from django.conf import settings

    join_request = JoinRequest.objects.select_related("user", "institution").filter(pk=join_request_id).first()
    if join_request is None or not join_request.is_pending:
        return
    link = f"{settings.SITE_URL.rstrip('/')}/institutions/{join_request.institution.code}/people/"
    for admin in _admins_of(join_request.institution):
        with translation.override(_language(admin)):
            subject = _("%(person)s asks to join %(institution)s") % {
                "person": join_request.user.get_username(),
                "institution": join_request.institution.code,
            }
            body = _(
                "%(person)s (%(email)s) asks to become a researcher of %(institution)s (%(via)s).\n\n"
                "Approve or decline the request: %(link)s\n"
            ) % {
                "person": join_request.user.get_username(),
                "email": join_request.user.email,
                "institution": join_request.institution.name,
                "via": join_request.get_via_display(),
                "link": link,
            }
        send_mail(subject, body, None, [admin.email])


def _tell_person(join_request_id: int) -> None:
    join_request = JoinRequest.objects.select_related("user", "institution").filter(pk=join_request_id).first()
    if join_request is None or not join_request.user.email:
        return
    with translation.override(_language(join_request.user)):
        if join_request.state == JoinRequest.State.APPROVED:
            subject = _("You are a member of %(institution)s on Sanjiao") % {
                "institution": join_request.institution.code
            }
            body = _("Your request to join %(institution)s was approved; you may now book as its researcher.\n")
        else:
            subject = _("Your request to join %(institution)s") % {"institution": join_request.institution.code}
            body = _(
                "Your request to join %(institution)s was declined. "
                "Ask its administrators if you think this is wrong.\n"
            )
        body = body % {"institution": join_request.institution.name}
    send_mail(subject, body, None, [join_request.user.email])
