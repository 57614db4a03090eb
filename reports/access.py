"""Who may read which report. Reports show usage by institution, so they are for the people who answer
for a facility: its managers, the administrators of its host institution, and platform administrators."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from facilities.models import Facility, Institution, Membership
from facilities.models.tenants import Role
from facilities.selectors import managed_facility_ids


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def administered_institution_ids(user) -> set[int]:
    if not _authenticated(user):
        return set()
    return set(
        Membership.objects.filter(user=user, role=Role.INSTITUTION_ADMIN).values_list("institution_id", flat=True)
    )


def may_read_facility(user, facility: Facility) -> bool:
    """That facility's managers, its host institution's administrators, platform administrators."""
    if not _authenticated(user):
        return False
    if user.is_superuser:
        return True
    return facility.pk in managed_facility_ids(user) or facility.host_id in administered_institution_ids(user)


def may_read_institution(user, institution: Institution) -> bool:
    """The roll-up over every facility an institution hosts: its administrators and platform administrators."""
    if not _authenticated(user):
        return False
    return user.is_superuser or institution.pk in administered_institution_ids(user)


def may_read_province(user) -> bool:
    """A province's roll-up spans many hosts: platform administrators only."""
    return _authenticated(user) and user.is_superuser


def require(allowed: bool, what: str) -> None:
    """Raise PermissionDenied, saying who may read, unless `allowed`."""
    if not allowed:
        raise PermissionDenied(
            _("You may not read %(what)s: %(access_rule)s") % {"what": what, "access_rule": ACCESS_RULE}
        )


ACCESS_RULE = gettext_lazy(
    "reports are open to the facility's managers, the administrators of its host institution "
    "and platform administrators."
)


def readable_facilities(user) -> QuerySet[Facility]:
    """Every facility whose reports the user may read (see `may_read_facility`)."""
    if not _authenticated(user):
        return Facility.objects.none()
    if user.is_superuser:
        return Facility.objects.all()
    return Facility.objects.filter(
        Q(pk__in=managed_facility_ids(user)) | Q(host_id__in=administered_institution_ids(user))
    )
