"""What the national and provincial open-sharing platforms take: the catalog of instruments that must be
reported, and the service records of a period (who used which instrument, for how long, for what, and
what they paid).

- Catalog: the active instruments of the given facilities whose registration has an original value of
  500,000 CNY or more (`InstrumentRegistration.must_report`). Fees are the registration's text, else the
  instrument's published hourly rates; the booking address is the instrument's page on this site.
- Service records: one per completed booking used within the period (`reports.usage`), with the used
  time clipped to the period, exactly as the sharing report counts used hours; plus completed bookings
  whose usage charge falls in the period's months but whose use does not (0 hours), so that fees follow
  billing's months as the sharing report's revenue does. The fee is the booking's usage charge
  (`Charge.amount`, after the host's subsidy). No-show and late-cancellation fees are not service.

Totals reconcile with the sharing report of the same facilities and period: `used_minutes` is summed per
instrument and institution as `reports.sums` sums it (so it equals the report's used hours), and `fees`
equals the report's revenue less its no-show and late-cancellation charges. Four queries whatever the
number of bookings (catalog: registrations, rates; records: charges, bookings)."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.urls import reverse

from billing.models import Charge
from billing.models.charges import ChargeKind
from billing.services.rates import user_class_for
from booking.models import Booking
from facilities.models import Facility, Instrument, InstrumentRegistration, RateCard
from facilities.models.sharing import REPORTING_THRESHOLD

from .periods import Period
from .revenue import months_of
from .sums import clipped_seconds, longest_booking, near
from .usage import USED_END, USED_START, used_in, with_used_span

# The national classification of large research instruments (GB/T 32847-2016, 科技平台 大型科学仪器设备
# 分类与代码): the classes and subclasses the catalog uses. Codes not listed here are exported without
# a name; see docs/sharing-reports.md.
CLASSIFICATION = {
    "01": "分析仪器",
    "0101": "电子光学仪器",
    "0102": "质谱仪器",
    "0103": "X射线仪器",
    "0104": "光谱仪器",
    "0106": "波谱仪器",
    "0108": "显微镜及图像分析仪器",
    "02": "物理性能测试仪器",
    "0201": "力学性能测试仪器",
    "0207": "其他物理性能测试仪器",
    "04": "电子测量仪器",
    "09": "激光器",
    "10": "工艺试验仪器",
    "11": "计算机及其配套设备",
    "12": "天文仪器",
    "14": "核仪器",
    "15": "其他仪器",
}
USER_TYPE_ZH = {"internal": "单位内部", "external_academic": "外单位（高校及科研院所）", "industry": "企业"}
SHARING_MODE_ZH = {"open": "对外开放共享", "internal": "单位内部共享", "not_shared": "不共享"}
RATE_ORDER = ("internal", "external_academic", "industry")


def classification_name(code: str) -> str:
    return CLASSIFICATION.get(code, "")


def booking_url(instrument: Instrument) -> str:
    """The instrument's page on this site, where it is booked (预约网址)."""
    return settings.SITE_URL.rstrip("/") + reverse("frontend:instrument", args=[instrument.pk])


def operating_status_zh(instrument: Instrument) -> str:
    if instrument.facility.status == Facility.Status.UNDER_CONSTRUCTION:
        return "在建"
    if not instrument.active or instrument.facility.status != Facility.Status.OPERATING:
        return "停用"
    return "正常"


@dataclass
class CatalogEntry:
    instrument: Instrument
    registration: InstrumentRegistration
    rates: dict[str, Decimal]
    booking_url: str

    @property
    def fees_zh(self) -> str:
        if self.registration.fees:
            return self.registration.fees
        return "；".join(f"{USER_TYPE_ZH[c]} {self.rates[c]} 元/小时" for c in RATE_ORDER if c in self.rates)


def catalog_entries(facilities: Iterable[Facility]) -> list[CatalogEntry]:
    """The instruments of these facilities that must be reported, by facility and instrument code."""
    registrations = list(
        InstrumentRegistration.objects.filter(
            instrument__facility__in=list(facilities),
            instrument__active=True,
            original_value__gte=REPORTING_THRESHOLD,
        )
        .select_related("instrument__facility__host")
        .order_by("instrument__facility__code", "instrument__code")
    )
    rates: dict[int, dict[str, Decimal]] = defaultdict(dict)
    rate_rows = RateCard.objects.filter(instrument_id__in=[r.instrument_id for r in registrations])
    for instrument_id, user_class, hourly in rate_rows.values_list("instrument_id", "user_class", "hourly_rate"):
        rates[instrument_id][user_class] = hourly
    return [CatalogEntry(r.instrument, r, rates[r.instrument_id], booking_url(r.instrument)) for r in registrations]


@dataclass
class ServiceRecord:
    booking: Booking
    used_start: dt.datetime
    used_end: dt.datetime
    used_seconds: int  # within the period
    fee: Decimal
    user_type: str  # a UserClass value

    @property
    def used_hours(self) -> Decimal:
        return (Decimal(self.used_seconds) / 3600).quantize(Decimal("0.01"))


@dataclass
class ServiceRecords:
    period: Period
    records: list[ServiceRecord]
    used_minutes: int  # as the sharing report sums them
    fees: Decimal


def service_records(facilities: Iterable[Facility], period: Period) -> ServiceRecords:
    """The service records of these facilities' instruments in the period, by instrument, then start."""
    instruments = list(Instrument.objects.filter(facility__in=list(facilities)).only("pk", "max_minutes"))
    ids = [i.pk for i in instruments]
    months = months_of(period)
    charges = {
        booking_id: (amount, user_class)
        for booking_id, amount, user_class in Charge.objects.filter(
            instrument_id__in=ids, period__in=months, kind=ChargeKind.USAGE
        ).values_list("booking_id", "amount", "user_class")
    }
    window = near(period, longest_booking(instruments))
    charged_in = Q(status=Booking.Status.COMPLETED, charge__kind=ChargeKind.USAGE, charge__period__in=months)
    bookings = (
        with_used_span(Booking.objects.filter(window, instrument_id__in=ids))
        .filter(used_in(period) | charged_in)
        .annotate(
            seconds=Case(
                When(used_in(period), then=clipped_seconds(F(USED_START), F(USED_END), period)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .select_related("instrument__facility__host", "instrument__registration", "requester", "institution")
        .order_by("instrument__facility__code", "instrument__code", USED_START, "pk")
    )
    records = []
    per_group: dict[tuple[int, int], int] = defaultdict(int)
    for b in bookings:
        start, end = getattr(b, USED_START), getattr(b, USED_END)
        seconds = int(b.seconds or 0)
        per_group[(b.instrument_id, b.institution_id)] += seconds
        amount, user_class = charges.get(b.pk, (Decimal("0.00"), ""))
        if not user_class:
            user_class = user_class_for(institution=b.institution, facility=b.instrument.facility)
        records.append(ServiceRecord(b, start, end, seconds, amount, user_class))
    return ServiceRecords(
        period,
        records,
        used_minutes=sum(seconds // 60 for seconds in per_group.values()),
        fees=sum((r.fee for r in records), Decimal("0.00")),
    )
