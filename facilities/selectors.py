"""Reads of the catalog and of people, always answering "what may this user see"."""

from django.db.models import Prefetch, Q, QuerySet

from .models import ApiToken, Facility, FundingAccount, Institution, Instrument, Membership, User
from .models.tenants import Role


def roles_of(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    roles = set(user.memberships.values_list("role", flat=True))
    if user.is_superuser:
        roles.add("platform_admin")
    return roles


def institution_ids(user, role: str | None = None) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    qs = Membership.objects.filter(user=user)
    if role:
        qs = qs.filter(role=role)
    return set(qs.values_list("institution_id", flat=True))


def managed_facility_ids(user) -> set[int]:
    """Facilities whose requests this user decides on: listed on a manager membership."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(
        Membership.objects.filter(user=user, role=Role.FACILITY_MANAGER).values_list("facilities__id", flat=True)
    ) - {None}


def is_manager_of(user, facility_id: int) -> bool:
    return facility_id in managed_facility_ids(user)


def primary_institution(user) -> Institution | None:
    if not getattr(user, "is_authenticated", False):
        return None
    membership = Membership.objects.filter(user=user).select_related("institution").order_by("id").first()
    return membership.institution if membership else None


def researcher_institution(user) -> Institution | None:
    """The institution a researcher books for: that of their first researcher membership."""
    membership = (
        Membership.objects.filter(user=user, role=Role.RESEARCHER).select_related("institution").order_by("id").first()
    )
    return membership.institution if membership else None


def facility_list(*, province: str = "", city: str = "", category: str = "", q: str = "") -> QuerySet[Facility]:
    """The public catalog: anyone may browse it."""
    qs = Facility.objects.select_related("host")
    if province:
        qs = qs.filter(province=province)
    if city:
        qs = qs.filter(city__iexact=city)
    if category:
        qs = qs.filter(category=category)
    if q:
        qs = qs.filter(
            Q(code__icontains=q)
            | Q(name__icontains=q)
            | Q(name_zh__icontains=q)
            | Q(description__icontains=q)
            | Q(host__name__icontains=q)
            | Q(city__icontains=q)
        )
    return qs.order_by("province", "code")


def facility_detail_queryset() -> QuerySet[Facility]:
    return Facility.objects.select_related("host").prefetch_related(
        Prefetch("instruments", queryset=Instrument.objects.filter(active=True).select_related("facility"))
    )


def instrument_list(
    *, facility: str = "", category: str = "", q: str = "", include_inactive: bool = False
) -> QuerySet[Instrument]:
    qs = Instrument.objects.select_related("facility", "facility__host")
    if not include_inactive:
        qs = qs.filter(active=True)
    if facility:
        qs = qs.filter(facility__code__iexact=facility)
    if category:
        qs = qs.filter(category=category)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(description__icontains=q))
    return qs.order_by("facility__code", "code")


def accounts_visible_to(user) -> QuerySet[FundingAccount]:
    """Researchers see the accounts they lead or are named on; finance and institution admins see all
    of their institution's accounts; platform admins see every account; everybody else sees none."""
    if not getattr(user, "is_authenticated", False):
        return FundingAccount.objects.none()
    qs = FundingAccount.objects.select_related("institution", "principal_investigator")
    if user.is_superuser:
        return qs.order_by("code")
    overseen = Membership.objects.filter(user=user, role__in=[Role.FINANCE, Role.INSTITUTION_ADMIN]).values(
        "institution_id"
    )
    return (
        qs.filter(Q(principal_investigator=user) | Q(members=user) | Q(institution_id__in=overseen))
        .distinct()
        .order_by("code")
    )


def accounts_chargeable_by(user) -> QuerySet[FundingAccount]:
    """Accounts this user may put a booking on: ones they lead or are named on."""
    if not getattr(user, "is_authenticated", False):
        return FundingAccount.objects.none()
    return (
        FundingAccount.objects.filter(Q(principal_investigator=user) | Q(members=user))
        .select_related("institution")
        .distinct()
    )


def user_by_username(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def current_qualifications(*, now=None) -> QuerySet:
    """Qualifications that hold now: not revoked and not lapsed. The one definition of "qualified"
    (booking rules, auto-approval, the approval queue, the console)."""
    from django.utils import timezone

    from .models import Qualification

    now = now or timezone.now()
    return Qualification.objects.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def is_qualified(*, user, instrument, now=None) -> bool:
    return current_qualifications(now=now).filter(user=user, instrument=instrument).exists()


def facility_settings(facility: Facility) -> dict:
    """What a facility's managers set besides booking rules and closures, for the console and the API
    (callers check the reader manages the facility): its weekly hours and those of its instruments, and
    the qualifications not revoked (in force or lapsed)."""
    from .models import OperatingHours, Qualification

    return {
        "hours": OperatingHours.objects.filter(facility=facility).select_related("facility", "instrument"),
        "qualifications": Qualification.objects.filter(instrument__facility=facility, revoked_at__isnull=True)
        .select_related("user", "instrument", "granted_by")
        .order_by("instrument__code", "user__username"),
    }


def tokens_of(user) -> QuerySet[ApiToken]:
    """A person's own API tokens, newest first (a platform administrator sees others' in the admin)."""
    if not getattr(user, "is_authenticated", False):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def administered_institution_ids(user) -> set[int]:
    """Institutions whose people and accounts this user manages (as institution administrator)."""
    return institution_ids(user, Role.INSTITUTION_ADMIN)


def administers(user, institution_id: int) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser) or institution_id in administered_institution_ids(user)


def members_of(institution: Institution) -> QuerySet[Membership]:
    """An institution's memberships, for its administrators (callers check `administers` first)."""
    return (
        Membership.objects.filter(institution=institution)
        .select_related("user")
        .prefetch_related("facilities")
        .order_by("user__username", "role")
    )


def groups_visible_to(user) -> QuerySet:
    """Research groups the user leads or belongs to, and every group of institutions they administer."""
    from .models import ResearchGroup

    if not getattr(user, "is_authenticated", False):
        return ResearchGroup.objects.none()
    qs = ResearchGroup.objects.select_related("institution", "leader")
    if user.is_superuser:
        return qs
    return qs.filter(
        Q(leader=user) | Q(members__user=user) | Q(institution_id__in=administered_institution_ids(user))
    ).distinct()
