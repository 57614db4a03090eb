"""Companies that register to book: the registration with its unified social credit code, and a platform
administrator's decision. Approving makes the company an institution, its registrant a researcher of it
with a cost-centre account to charge (docs/identity.md, "Local accounts")."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from stdnum.cn import uscc

from common.audit import records_actor

from .models import CompanyRegistration, FundingAccount, Institution, Membership, User
from .models.tenants import Role

# Digits and capital letters without I, O, S, V and Z (GB 32100-2015).
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ACCOUNT_YEARS = 5


def normalize_credit_code(value: str) -> str:
    return "".join(str(value).split()).upper()


def validate_credit_code(value: str) -> str:
    """The normalised code, or ValidationError saying what is wrong: 18 characters of the code's alphabet,
    the administrative division (3rd to 8th) in digits, the 18th the check character of GB 32100-2015."""
    code = normalize_credit_code(value)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; %(code)s has %(n)d.") % {"code": code, "n": len(code)},
            code="credit_code_length",
        )
    if any(c not in CREDIT_CODE_ALPHABET for c in code) or not code[2:8].isdigit():
        raise ValidationError(
            _(
                "%(code)s is not a unified social credit code: it uses digits and capital letters other than "
                "I, O, S, V and Z, and its 3rd to 8th characters are digits."
            )
            % {"code": code},
            code="credit_code_format",
        )
    expected = uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _("%(code)s fails the check of GB 32100-2015: its last character should be %(c)s.")
            % {"code": code, "c": expected},
            code="credit_code_checksum",
        )
    return code


def company_awaiting_approval(user) -> CompanyRegistration | None:
    """The person's company registration that is not approved (pending or declined), if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return CompanyRegistration.objects.filter(user=user).exclude(state=CompanyRegistration.State.APPROVED).first()


def company_register(*, user: User, company_name: str, credit_code: str, province: str = "") -> CompanyRegistration:
    """Register the person's company; it waits for a platform administrator."""
    code = validate_credit_code(credit_code)
    name = " ".join(company_name.split())
    if not name:
        raise ValidationError({"company_name": _("Give the company's registered name.")})
    registration = CompanyRegistration(user=user, company_name=name, credit_code=code, province=province)
    registration.full_clean(exclude=["user"])
    try:
        with transaction.atomic():
            if CompanyRegistration.objects.filter(user=user).exists():
                raise ValidationError(_("You have already registered a company."))
            registration.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"credit_code": _("A company with this unified social credit code is already registered.")}
        ) from exc
    return registration


def _require_platform_admin(actor: User) -> None:
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("Only a platform administrator may approve companies."))


def _institution_code(registration: CompanyRegistration) -> str:
    return registration.credit_code


@records_actor
def company_approve(*, actor: User, registration: CompanyRegistration) -> CompanyRegistration:
    """The company becomes an institution (kind company); its registrant becomes its researcher with a
    cost-centre account of the company to charge, valid five years."""
    _require_platform_admin(actor)
    with transaction.atomic():
        locked = CompanyRegistration.objects.select_for_update().select_related("user").get(pk=registration.pk)
        if not locked.can_decide():
            raise ValidationError(
                _("This registration was already decided: %(state)s.") % {"state": locked.get_state_display()}
            )
        if not locked.user.is_active:
            raise ValidationError(_("This account is deactivated."))
        code = _institution_code(locked)
        if Institution.objects.filter(code__iexact=code).exists():
            raise ValidationError(_("An institution with the code %(code)s exists already.") % {"code": code})
        institution = Institution.objects.create(
            code=code, name=locked.company_name, kind=Institution.Kind.COMPANY, province=locked.province
        )
        Membership.objects.get_or_create(user=locked.user, institution=institution, role=Role.RESEARCHER)
        today = timezone.localdate()
        account = FundingAccount.objects.create(
            code=f"{code}-COMPANY",
            title=locked.company_name,
            title_zh=locked.company_name,
            kind=FundingAccount.Kind.COST_CENTRE,
            institution=institution,
            principal_investigator=locked.user,
            valid_from=today,
            valid_until=dt.date(today.year + ACCOUNT_YEARS, 12, 31),
        )
        if locked.user.default_account_id is None:
            locked.user.default_account = account
            locked.user.save(update_fields=["default_account"])
        locked.state = CompanyRegistration.State.APPROVED
        locked.institution = institution
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.save(update_fields=["state", "institution", "decided_at", "decided_by"])
        transaction.on_commit(lambda: _tell_registrant(locked.pk))
    return locked


@records_actor
def company_decline(*, actor: User, registration: CompanyRegistration, reason: str = "") -> CompanyRegistration:
    _require_platform_admin(actor)
    with transaction.atomic():
        locked = CompanyRegistration.objects.select_for_update().get(pk=registration.pk)
        if not locked.can_decide():
            raise ValidationError(
                _("This registration was already decided: %(state)s.") % {"state": locked.get_state_display()}
            )
        locked.state = CompanyRegistration.State.DECLINED
        locked.decline_reason = reason.strip()[:500]
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.save(update_fields=["state", "decline_reason", "decided_at", "decided_by"])
        transaction.on_commit(lambda: _tell_registrant(locked.pk))
    return locked


def _tell_registrant(registration_id: int) -> None:
    registration = CompanyRegistration.objects.select_related("user").filter(pk=registration_id).first()
    if registration is None or not registration.user.email:
        return
    language = registration.user.language if registration.user.language in ("en", "zh-hans") else "en"
    with translation.override(language):
        if registration.state == CompanyRegistration.State.APPROVED:
            subject = _("%(company)s is approved on Sanjiao") % {"company": registration.company_name}
            body = _("A platform administrator approved %(company)s. You may now book instruments for it.\n") % {
                "company": registration.company_name
            }
        else:
            subject = _("%(company)s was not approved on Sanjiao") % {"company": registration.company_name}
            body = _("A platform administrator declined %(company)s: %(reason)s\n") % {
                "company": registration.company_name,
                "reason": registration.decline_reason or "—",
            }
    send_mail(subject, body, None, [registration.user.email])
