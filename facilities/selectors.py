"""Reads of the catalog and of people, always answering "what may this user see"."""

from collections.abc import Iterable
from typing import cast

from django.db.models import Case, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When

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


# Free-text search (docs/frontend.md#finding-instruments): every word of the query must be found, each in any
# of these fields, by a plain case-insensitive substring match. One path on SQLite and PostgreSQL, and it
# works for Chinese, which has no spaces between words for a full-text parser to split on.
MAX_SEARCH_WORDS = 8
FACILITY_TEXT = (
    "code",
    "name",
    "name_zh",
    "city",
    "city_zh",
    "host_label",
    "host_label_zh",
    "host__code",
    "host__name",
    "host__name_zh",
)
INSTRUMENT_NAMES = ("code", "name", "name_zh", "keywords", "keywords_zh")
INSTRUMENT_TEXT = (
    *INSTRUMENT_NAMES,
    "description",
    "description_zh",
    *(f"facility__{field}" for field in FACILITY_TEXT),
)


def words(q: str) -> list[str]:
    return q.split()[:MAX_SEARCH_WORDS]


def text_match(q: str, fields: tuple[str, ...]) -> Q:
    """Every word of `q` (at most MAX_SEARCH_WORDS) in at least one of `fields`."""
    condition = Q()
    for word in words(q):
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        condition &= any_field
    return condition


def facility_list(
    *, province: str = "", city: str = "", category: str = "", q: str = "", host: str = ""
) -> QuerySet[Facility]:
    """The public catalog: anyone may browse it. `q` finds a facility by its own names, host and city (and
    description), or by any of its instruments (`instrument_list`'s search)."""
    qs = Facility.objects.select_related("host")
    if province:
        qs = qs.filter(province=province)
    if city:
        qs = qs.filter(Q(city__iexact=city) | Q(city_zh=city))
    if category:
        qs = qs.filter(category=category)
    if host:
        qs = qs.filter(host__code__iexact=host)
    if q:
        own = text_match(q, (*FACILITY_TEXT, "description", "description_zh"))
        instrument = Instrument.objects.filter(facility=OuterRef("pk"), active=True).filter(
            text_match(q, INSTRUMENT_TEXT)
        )
        qs = qs.filter(own | Q(Exists(instrument)))
    return qs.order_by("province", "code")


def bookable_instrument_ids(*, user, instruments) -> set[int]:
    """Which of `instruments` the user may book: the booking layer's answer to `bookable_asked`; with no
    booking layer installed, none."""
    from .signals import bookable_asked

    ids: set[int] = set()
    for _receiver, answer in bookable_asked.send(sender=Instrument, requester=user, instruments=instruments):
        ids |= set(cast(Iterable[int], answer or ()))
    return ids


def facility_detail_queryset() -> QuerySet[Facility]:
    return Facility.objects.select_related("host").prefetch_related(
        Prefetch("instruments", queryset=Instrument.objects.filter(active=True).select_related("facility"))
    )


def instrument_list(
    *,
    facility: str = "",
    category: str = "",
    q: str = "",
    province: str = "",
    city: str = "",
    host: str = "",
    facility_category: str = "",
    include_inactive: bool = False,
) -> QuerySet[Instrument]:
    """Instruments anyone may browse. `category` is the instrument's technique; `q` searches its names,
    technique keywords and description and its facility's names, host and city, in English and Chinese."""
    qs = Instrument.objects.select_related("facility", "facility__host")
    if not include_inactive:
        qs = qs.filter(active=True)
    if facility:
        qs = qs.filter(facility__code__iexact=facility)
    if category:
        qs = qs.filter(category=category)
    if province:
        qs = qs.filter(facility__province=province)
    if city:
        qs = qs.filter(Q(facility__city__iexact=city) | Q(facility__city_zh=city))
    if host:
        qs = qs.filter(facility__host__code__iexact=host)
    if facility_category:
        qs = qs.filter(facility__category=facility_category)
    if q:
        # Those whose names or keywords hold more of the words first; a description or the facility after.
        named = sum(
            (Case(When(text_match(word, INSTRUMENT_NAMES), then=Value(1)), default=Value(0)) for word in words(q)),
            Value(0),
        )
        return (
            qs.filter(text_match(q, INSTRUMENT_TEXT)).annotate(named=named).order_by("-named", "facility__code", "code")
        )
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
    (booking rules, auto-approval, the approval queue, the catalog, the console)."""
    from django.utils import timezone

    from .models import Qualification

    now = now or timezone.now()
    return Qualification.objects.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def is_qualified(*, user, instrument, now=None) -> bool:
    return current_qualifications(now=now).filter(user=user, instrument=instrument).exists()


def _qualifications_held(user) -> QuerySet:
    return current_qualifications().filter(user=user)


def qualified_instrument_ids(*, user, instrument_ids) -> set[int]:
    """`is_qualified` for many instruments in one query: those of `instrument_ids` the user is qualified on."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(
        current_qualifications()
        .filter(user=user, instrument_id__in=instrument_ids)
        .values_list("instrument_id", flat=True)
    )


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


def qualification_state(*, user, instrument) -> dict:
    """What the instrument page tells a signed-in person: whether it asks for a qualification, their
    current one (with its expiry), their pending request, and their last declined one. Two queries."""
    from .models import QualificationRequest

    state: dict = {"required": instrument.requires_qualification, "qualification": None, "pending": None}
    state["declined"] = None
    if not getattr(user, "is_authenticated", False):
        return state
    state["qualification"] = current_qualifications().filter(user=user, instrument=instrument).first()
    requests = list(QualificationRequest.objects.filter(user=user, instrument=instrument).order_by("-created_at")[:1])
    if requests and requests[0].is_pending:
        state["pending"] = requests[0]
    elif requests and requests[0].status == QualificationRequest.Status.DECLINED:
        state["declined"] = requests[0]
    return state


def qualification_requests_visible_to(user) -> QuerySet:
    """A person's own requests and those at the facilities they manage (all, for platform admins)."""
    from .models import QualificationRequest

    qs = QualificationRequest.objects.select_related("user", "instrument__facility", "decided_by")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(Q(user=user) | Q(instrument__facility_id__in=managed_facility_ids(user)))


def facility_managers(facility_id: int) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, memberships__role=Role.FACILITY_MANAGER, memberships__facilities=facility_id
    ).distinct()


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


def institution_for_domain(domain: str) -> Institution | None:
    """The institution whose domain is `domain` or a parent of it ("mail.ustc.edu.cn" → ustc.edu.cn);
    the longest match wins. An e-mail address may be given: its part after the "@" is matched."""
    from .models import InstitutionDomain
    from .models.joining import normalize_domain

    name = normalize_domain(domain.rpartition("@")[2])
    if not name or "." not in name:
        return None
    labels = name.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    found = {
        d.domain: d.institution
        for d in InstitutionDomain.objects.filter(domain__in=candidates).select_related("institution")
    }
    for candidate in candidates:  # longest first
        if candidate in found:
            return found[candidate]
    return None


def join_requests_for(institution: Institution) -> QuerySet:
    """An institution's join requests for its administrators (callers check `administers` first):
    pending first, oldest pending first; then decided ones, latest first."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import JoinRequest

    return (
        JoinRequest.objects.filter(institution=institution)
        .select_related("user", "institution", "decided_by")
        .annotate(
            pending_first=Case(
                When(state=JoinRequest.State.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("pending_first", "-decided_at", "created_at", "id")
    )


def join_requests_of(user) -> QuerySet:
    """A person's own requests to join institutions, latest first."""
    from .models import JoinRequest

    if not getattr(user, "is_authenticated", False):
        return JoinRequest.objects.none()
    return JoinRequest.objects.filter(user=user).select_related("institution").order_by("-created_at", "-id")
