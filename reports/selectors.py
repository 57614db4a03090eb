"""The figures of the open-sharing reports: the one module that computes them, for the API, the exports
and the manager console's charts.

Every figure is counted in whole minutes (exact, and roll-ups are plain sums); `hours()` turns minutes
into hours with two decimals for display. Money is Decimal yuan. All intervals are half-open [start, end)
and are clipped to the period, so a booking that crosses a period boundary counts in each period for the
part that falls in it.

Definitions (per instrument, over a period):
- available: the period's minutes minus the spans the catalog closes it (outside operating hours, public
  holidays for facilities that follow the office calendar, closures), as `facilities.calendar` computes them.
- booked: bookings that are held (requested, approved), completed or no-show, booked times.
- used: effective machine time, from the usage app (`usage.selectors.use_in_period`, the one source):
  usage sessions (a booking's and walk-ups), and completed bookings without sessions from actual_start to
  actual_end where recorded, else the booked times.
  Use an interlock reported without naming anyone, outside bookings, counts as the host's.
- idle: booked but not used — ended bookings' booked time their use did not cover (no-shows entirely).
- utilisation: used / available (None when nothing was available).
- host / shared / company: used minutes by the facility's host institution / by every other institution
  ("shared hours") / by company institutions other than the host (part of shared).
- outside institutions / users served: distinct institutions other than the host, and their distinct
  requesters, with used minutes in the period.
- no-show: no-show bookings, booked times.
- late cancellation: cancelled bookings cancelled at or after start − the instrument's late-cancellation
  window (billing's ChargePolicy.late_cancel_hours, 24 h by default): what billing charges as late; booked times.
- revenue: billing's charges per user class (see `reports.revenue`).
- time shares (co-built instruments): for each partner its agreed percent, the minutes that percent
  reserves of the available minutes (rounded down, as the booking rule counts them), and its booked and
  used minutes.

The institution a booking counts for is `Booking.institution`, the requester's institution when booked.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, QuerySet

from booking.models import Booking
from facilities.calendar import closed_spans_many
from facilities.models import Facility, Institution, Instrument, TimeShare
from usage.selectors import idle_minutes_by_instrument, use_in_period

from .periods import Period
from .policy import late_cancellation_windows
from .revenue import revenue_by_instrument
from .sums import booked_by_institution, booking_sums, longest_booking

DECISIONS = (Booking.Status.APPROVED, Booking.Status.REJECTED)
TWO_PLACES = Decimal("0.01")


def hours(minutes: int) -> Decimal:
    """Minutes as hours with two decimals (half up), for display; sums are made on minutes."""
    return (Decimal(minutes) / 60).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def rate(part: int, whole: int) -> Decimal | None:
    """part / whole as a fraction with four decimals, or None when whole is zero."""
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _minutes(start: dt.datetime, end: dt.datetime) -> int:
    return int((end - start).total_seconds() // 60)


@dataclass
class Figures:
    """Additive figures; the sets keep distinct counts right when instruments are rolled up."""

    available_minutes: int = 0
    booked_minutes: int = 0
    used_minutes: int = 0
    host_minutes: int = 0
    shared_minutes: int = 0
    company_minutes: int = 0
    no_show_minutes: int = 0
    late_cancel_minutes: int = 0
    idle_minutes: int = 0
    outside_institution_ids: set[int] = field(default_factory=set)
    outside_user_ids: set[int] = field(default_factory=set)
    revenue: dict[str, Decimal] = field(default_factory=dict)

    @property
    def utilisation(self) -> Decimal | None:
        return rate(self.used_minutes, self.available_minutes)

    @property
    def revenue_total(self) -> Decimal:
        return sum(self.revenue.values(), Decimal("0.00"))

    def add(self, other: "Figures") -> None:
        for name in (
            "available_minutes",
            "booked_minutes",
            "used_minutes",
            "host_minutes",
            "shared_minutes",
            "company_minutes",
            "no_show_minutes",
            "late_cancel_minutes",
            "idle_minutes",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outside_institution_ids |= other.outside_institution_ids
        self.outside_user_ids |= other.outside_user_ids
        for user_class, amount in other.revenue.items():
            self.revenue[user_class] = self.revenue.get(user_class, Decimal("0.00")) + amount


@dataclass
class PartnerShare:
    institution: Institution
    percent: Decimal
    reserved_minutes: int
    booked_minutes: int = 0
    used_minutes: int = 0

    @property
    def used_of_reserved(self) -> Decimal | None:
        return rate(self.used_minutes, self.reserved_minutes)


@dataclass
class InstrumentReport:
    instrument: Instrument
    figures: Figures
    time_shares: list[PartnerShare] = field(default_factory=list)


@dataclass
class FacilityReport:
    facility: Facility
    period: Period
    instruments: list[InstrumentReport]
    totals: Figures


@dataclass
class RollUp:
    """Figures summed over several facilities (a host institution's, a province's)."""

    period: Period
    facilities: list[FacilityReport]
    totals: Figures


def instrument_reports(instruments: QuerySet[Instrument] | list[Instrument], period: Period) -> list[InstrumentReport]:
    """Figures for each given instrument (select_related facility and host, please), in the given order.
    A fixed number of queries whatever the number of instruments and bookings: the bookings are summed
    by the database (see reports.sums)."""
    instruments = list(instruments)
    ids = [i.pk for i in instruments]
    by_id = {i.pk: i for i in instruments}
    figures = {pk: Figures() for pk in ids}
    late_windows = late_cancellation_windows(ids)
    shares: dict[int, dict[int, PartnerShare]] = defaultdict(dict)
    share_rows = (
        TimeShare.objects.filter(instrument_id__in=ids).select_related("institution").order_by("institution__code")
    )
    for ts in share_rows:
        shares[ts.instrument_id][ts.institution_id] = PartnerShare(ts.institution, ts.percent, 0)

    for inst_id, who, _kind, status, booked, _used in booking_sums(
        ids, period, late_windows, longest_booking(instruments)
    ):
        f = figures[inst_id]
        partner = shares[inst_id].get(who) if inst_id in shares else None
        if status == Booking.Status.CANCELLED:  # only late ones are summed
            f.late_cancel_minutes += booked
            continue
        f.booked_minutes += booked
        if partner:
            partner.booked_minutes += booked
        if status == Booking.Status.NO_SHOW:
            f.no_show_minutes += booked
    # Used time has one source, the usage app: sessions, and completed bookings recorded without them.
    for row in use_in_period(instrument_ids=ids, start=period.start, end=period.end):
        f = figures[row.instrument_id]
        f.used_minutes += row.minutes
        partner = (
            shares[row.instrument_id].get(row.institution_id)
            if row.instrument_id in shares and row.institution_id is not None
            else None
        )
        if partner:
            partner.used_minutes += row.minutes
        # Use nobody was named for, with no booking (an interlock's): the facility's own, so host + shared = used.
        if row.institution_id is None or row.institution_id == by_id[row.instrument_id].facility.host_id:
            f.host_minutes += row.minutes
        else:
            f.shared_minutes += row.minutes
            f.outside_institution_ids.add(row.institution_id)
            if row.requester_id is not None:
                f.outside_user_ids.add(row.requester_id)
            if row.institution_kind == Institution.Kind.COMPANY:
                f.company_minutes += row.minutes
    for pk, idle in idle_minutes_by_instrument(instrument_ids=ids, start=period.start, end=period.end).items():
        figures[pk].idle_minutes = idle

    closed = closed_spans_many(instruments, period.start, period.end)
    for pk in ids:
        f = figures[pk]
        f.available_minutes = period.minutes - sum(_minutes(s, e) for s, e in closed[pk])
        for partner in shares.get(pk, {}).values():
            # As booking.services.time_shares counts a partner's reserve: rounded down to the minute.
            partner.reserved_minutes = int(Decimal(f.available_minutes) * partner.percent / 100)
    for pk, by_class in revenue_by_instrument(ids, period).items():
        figures[pk].revenue = by_class
    return [InstrumentReport(by_id[pk], figures[pk], list(shares.get(pk, {}).values())) for pk in ids]


def _reportable_instruments(facility_ids: Iterable[int], period: Period) -> list[Instrument]:
    """Active instruments, plus retired ones that still have bookings in the period."""
    has_bookings = Booking.objects.filter(
        instrument__facility_id__in=list(facility_ids), start__lt=period.end, end__gt=period.start
    ).values("instrument_id")
    return list(
        Instrument.objects.filter(facility_id__in=list(facility_ids))
        .filter(Q(active=True) | Q(pk__in=has_bookings))
        .select_related("facility", "facility__host")
        .order_by("facility__code", "code")
    )


def facility_reports(facilities: Iterable[Facility], period: Period) -> list[FacilityReport]:
    """The sharing report of each facility, computed together (the same handful of queries for one
    facility or all of them). Facilities come back in the order given."""
    facilities = list(facilities)
    per_facility: dict[int, list[InstrumentReport]] = defaultdict(list)
    for report in instrument_reports(_reportable_instruments([f.pk for f in facilities], period), period):
        per_facility[report.instrument.facility_id].append(report)
    out = []
    for facility in facilities:
        totals = Figures()
        for report in per_facility.get(facility.pk, []):
            totals.add(report.figures)
        out.append(FacilityReport(facility, period, per_facility.get(facility.pk, []), totals))
    return out


def facility_report(facility: Facility, period: Period) -> FacilityReport:
    """The quarterly (or monthly, yearly) sharing report of one facility, one entry per instrument."""
    return facility_reports([facility], period)[0]


def _roll_up(facilities: QuerySet[Facility], period: Period) -> RollUp:
    reports = facility_reports(facilities.select_related("host").order_by("code"), period)
    totals = Figures()
    for report in reports:
        totals.add(report.totals)
    return RollUp(period, reports, totals)


def institution_roll_up(institution: Institution, period: Period) -> RollUp:
    """Every facility the institution hosts, and their sum. "Outside" stays relative to each facility's
    host, which for all of them is this institution."""
    return _roll_up(Facility.objects.filter(host=institution), period)


def province_roll_up(province: str, period: Period) -> RollUp:
    """Every facility in a province (shanghai, anhui, jiangsu, zhejiang), and their sum."""
    return _roll_up(Facility.objects.filter(province=province), period)


# --- Fairness ------------------------------------------------------------------------------------------


@dataclass
class InstitutionShare:
    institution: Institution
    internal: bool
    booked_minutes: int = 0
    bookings: int = 0
    share: Decimal | None = None  # of the instrument's booked minutes
    used_minutes: int = 0  # effective machine time (usage), against the booked minutes


@dataclass
class Waiting:
    """Waiting from request to decision (approved or rejected), in hours."""

    decided: int = 0
    approved: int = 0
    rejected: int = 0
    median_hours: Decimal | None = None
    mean_hours: Decimal | None = None


@dataclass
class InstitutionWaiting:
    institution: Institution
    internal: bool
    waiting: Waiting


@dataclass
class FairnessReport:
    facility: Facility
    period: Period
    instruments: list[tuple[Instrument, int, list[InstitutionShare]]]  # instrument, booked minutes, shares
    waiting_by_institution: list[InstitutionWaiting]
    waiting_internal: Waiting
    waiting_outside: Waiting
    pending: int  # requested in the period, neither decided nor withdrawn yet


def _waiting(samples: list[tuple[float, str]]) -> Waiting:
    w = Waiting(decided=len(samples))
    if not samples:
        return w
    w.approved = sum(1 for _, to in samples if to == Booking.Status.APPROVED)
    w.rejected = w.decided - w.approved
    values = sorted(seconds for seconds, _ in samples)
    n = len(values)
    middle = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    w.median_hours = (Decimal(middle) / 3600).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    w.mean_hours = (Decimal(sum(values)) / n / 3600).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    return w


def fairness_report(facility: Facility, period: Period) -> FairnessReport:
    """Who got the facility's time, and how long each institution waited for a decision.

    Shares: per instrument, each requesting institution's booked minutes (held, completed, no-show;
    clipped to the period) over the instrument's booked minutes. Waiting: for requests made in the period
    (BookingEvent '' → requested), the time to the decision (requested → approved or rejected), by
    institution and internal (the host) against outside; bookings approved at once never waited and are
    not counted, nor are requests withdrawn before a decision; requests still undecided are `pending`.
    Used minutes per institution come from the usage app (walk-ups included). A fixed number of queries."""
    from booking.models import BookingEvent  # the audit trail, read only here

    host = facility.host_id
    instruments = _reportable_instruments([facility.pk], period)
    institutions: dict[int, Institution] = {}
    per_instrument: dict[int, dict[int, InstitutionShare]] = {i.pk: {} for i in instruments}
    sums = booked_by_institution(list(per_instrument), period, longest_booking(instruments))
    institutions.update(Institution.objects.in_bulk({who for _, who, _, _ in sums}))
    for inst_id, who, booked, count in sums:
        per_instrument[inst_id][who] = InstitutionShare(institutions[who], who == host, booked, count)
    used_rows = [
        (r.instrument_id, r.institution_id, r.minutes)
        for r in use_in_period(instrument_ids=list(per_instrument), start=period.start, end=period.end)
        if r.institution_id is not None
    ]
    walk_up_only = {who for _, who, _ in used_rows} - set(institutions)
    if walk_up_only:
        institutions.update(Institution.objects.in_bulk(walk_up_only))
    for inst_id, who, minutes in used_rows:
        entry = per_instrument[inst_id].get(who)
        if entry is None:  # used without booking (walk-up)
            entry = per_instrument[inst_id][who] = InstitutionShare(institutions[who], who == host)
        entry.used_minutes += minutes
    shares_out = []
    for inst in instruments:
        entries = sorted(per_instrument[inst.pk].values(), key=lambda e: (-e.booked_minutes, e.institution.code))
        total = sum(e.booked_minutes for e in entries)
        for e in entries:
            e.share = rate(e.booked_minutes, total)
        shares_out.append((inst, total, entries))

    requested = BookingEvent.objects.filter(
        booking__instrument__facility=facility,
        to_status=Booking.Status.REQUESTED,
        at__gte=period.start,
        at__lt=period.end,
    ).values("booking_id")
    events = (
        BookingEvent.objects.filter(booking_id__in=requested)
        .filter(
            Q(to_status=Booking.Status.REQUESTED)
            | Q(from_status=Booking.Status.REQUESTED, to_status__in=(*DECISIONS, Booking.Status.CANCELLED))
        )
        .values_list("booking_id", "booking__institution_id", "to_status", "at")
        .order_by("at", "id")
    )
    asked: dict[int, tuple[int, dt.datetime]] = {}
    decided: dict[int, tuple[float, str]] = {}
    withdrawn: set[int] = set()
    for booking_id, who, to, at in events:
        if to == Booking.Status.REQUESTED:
            asked.setdefault(booking_id, (who, at))
        elif booking_id in asked and booking_id not in decided and booking_id not in withdrawn:
            if to == Booking.Status.CANCELLED:
                withdrawn.add(booking_id)
            else:
                decided[booking_id] = ((at - asked[booking_id][1]).total_seconds(), to)
    by_institution: dict[int, list] = defaultdict(list)
    for booking_id, sample in decided.items():
        by_institution[asked[booking_id][0]].append(sample)
    missing = set(by_institution) - set(institutions)
    if missing:
        institutions.update(Institution.objects.in_bulk(missing))
    waiting_rows = sorted(
        (InstitutionWaiting(institutions[pk], pk == host, _waiting(samples)) for pk, samples in by_institution.items()),
        key=lambda w: w.institution.code,
    )
    internal = [s for pk, samples in by_institution.items() if pk == host for s in samples]
    outside = [s for pk, samples in by_institution.items() if pk != host for s in samples]
    return FairnessReport(
        facility,
        period,
        shares_out,
        waiting_rows,
        _waiting(internal),
        _waiting(outside),
        pending=len(asked) - len(decided) - len(withdrawn),
    )


def facility_series(facility: Facility, periods: list[Period]) -> list[FacilityReport]:
    """One report per period, e.g. `months_of(parse_period("2026"))` or `recent_months(12)`, for charts.
    The sharing report's queries once per period."""
    return [facility_report(facility, p) for p in periods]
