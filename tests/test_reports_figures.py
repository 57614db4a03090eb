"""Report figures on constructed data where every number is worked out by hand.

October 2026 at facility FAC (host SARI, open round the clock, 744 hours):
- a facility closure 12 Oct 00:00–14 Oct 00:00 and a BL1 closure 13 Oct 12:00–15 Oct 00:00 overlap:
  BL1 loses 72 h (available 672 h), BL2 only the facility's 48 h (available 696 h);
- BL1 bookings: USTC 2 Oct 09–13 completed, used 09:30–12:30 (booked 4, used 3); SARI (host) 3 Oct 10–16
  completed with no actual times recorded (6, 6); SUNRAY (company) 5 Oct 08–10 (2, 2); ZJU 6 Oct 14–17
  no-show (3 booked, 3 no-show); ZJU 7 Oct 09–11 cancelled 2 h before (late: 2); USTC 8 Oct cancelled
  three days before (nothing); USTC 20 Oct 09–10 approved (1 booked); USTC 30 Sep 22:00–1 Oct 04:00
  completed (October's part: 4 and 4); USTC 31 Oct 20:00–1 Nov 02:00 used 21:00–03:00 (October: booked 4,
  used 3); a rejected USTC request (nothing).
  BL1: booked 24, used 18 (host 6, shared 12 of which company 2), no-show 3, late 2.
- BL2 (ZJU keeps 35 %): ZJU 9 Oct 08–18 (10), USTC 16 Oct 10–12 (2).
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.models import Booking
from facilities.models import Closure, OperatingHours, TimeShare
from reports.periods import parse_period
from reports.selectors import facility_report, facility_reports, hours, institution_roll_up, province_roll_up

from .factories.facilities import FacilityFactory, InstitutionFactory, InstrumentFactory, UserFactory, member
from .factories.reports import charge, past_booking

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
S = Booking.Status


def at(month, day, hour=0, minute=0, year=2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


def october_scene(world):
    """The October described at the top of this module (shared with the reports API's tests)."""
    from facilities.models.tenants import Role

    sari_user = UserFactory(username="sari.user")
    member(sari_user, world.sari, Role.RESEARCHER)
    sunray = InstitutionFactory(code="SUNRAY", kind="company", province="jiangsu", city="Changzhou")
    company_user = UserFactory(username="sunray.user")
    member(company_user, sunray, Role.RESEARCHER)
    bl1, bl2 = world.instrument, InstrumentFactory(facility=world.facility, code="BL2")
    TimeShare.objects.create(instrument=bl2, institution=world.zju, percent=Decimal("35"))
    Closure.objects.create(facility=world.facility, start=at(10, 12), end=at(10, 14), kind="maintenance")
    Closure.objects.create(facility=world.facility, instrument=bl1, start=at(10, 13, 12), end=at(10, 15))
    res, ustc, out, zju = world.researcher, world.ustc, world.outsider, world.zju
    book = past_booking
    bookings = {
        "ustc_actual": book(
            instrument=bl1,
            requester=res,
            institution=ustc,
            start=at(10, 2, 9),
            end=at(10, 2, 13),
            actual_start=at(10, 2, 9, 30),
            actual_end=at(10, 2, 12, 30),
        ),
        "host": book(
            instrument=bl1, requester=sari_user, institution=world.sari, start=at(10, 3, 10), end=at(10, 3, 16)
        ),
        "company": book(
            instrument=bl1,
            requester=company_user,
            institution=sunray,
            start=at(10, 5, 8),
            end=at(10, 5, 10),
            actual_start=at(10, 5, 8),
            actual_end=at(10, 5, 10),
        ),
        "no_show": book(
            instrument=bl1, requester=out, institution=zju, start=at(10, 6, 14), end=at(10, 6, 17), status=S.NO_SHOW
        ),
        "late": book(
            instrument=bl1,
            requester=out,
            institution=zju,
            start=at(10, 7, 9),
            end=at(10, 7, 11),
            status=S.CANCELLED,
            cancelled_at=at(10, 7, 7),
        ),
        "early": book(
            instrument=bl1,
            requester=res,
            institution=ustc,
            start=at(10, 8, 9),
            end=at(10, 8, 11),
            status=S.CANCELLED,
            cancelled_at=at(10, 5, 9),
        ),
        "held": book(
            instrument=bl1, requester=res, institution=ustc, start=at(10, 20, 9), end=at(10, 20, 10), status=S.APPROVED
        ),
        "from_september": book(
            instrument=bl1,
            requester=res,
            institution=ustc,
            start=at(9, 30, 22),
            end=at(10, 1, 4),
            actual_start=at(9, 30, 22),
            actual_end=at(10, 1, 4),
        ),
        "into_november": book(
            instrument=bl1,
            requester=res,
            institution=ustc,
            start=at(10, 31, 20),
            end=at(11, 1, 2),
            actual_start=at(10, 31, 21),
            actual_end=at(11, 1, 3),
        ),
        "rejected": book(
            instrument=bl1, requester=res, institution=ustc, start=at(10, 21, 9), end=at(10, 21, 12), status=S.REJECTED
        ),
        "partner": book(instrument=bl2, requester=out, institution=zju, start=at(10, 9, 8), end=at(10, 9, 18)),
        "bl2_ustc": book(instrument=bl2, requester=res, institution=ustc, start=at(10, 16, 10), end=at(10, 16, 12)),
    }
    return bl1, bl2, sunray, company_user, sari_user, bookings


@pytest.fixture
def october(world):
    return october_scene(world)


def _h(minutes):
    return hours(minutes)


def test_instrument_figures_by_hand(world, october):
    bl1, bl2, sunray, company_user, _, _ = october
    report = facility_report(world.facility, parse_period("2026-10"))
    assert [r.instrument.code for r in report.instruments] == ["BL1", "BL2"]
    f = report.instruments[0].figures
    assert _h(f.available_minutes) == Decimal("672.00")
    assert _h(f.booked_minutes) == Decimal("24.00")
    assert _h(f.used_minutes) == Decimal("18.00")
    assert (_h(f.host_minutes), _h(f.shared_minutes), _h(f.company_minutes)) == (
        Decimal("6.00"),
        Decimal("12.00"),
        Decimal("2.00"),
    )
    assert (_h(f.no_show_minutes), _h(f.late_cancel_minutes)) == (Decimal("3.00"), Decimal("2.00"))
    assert f.outside_institution_ids == {world.ustc.pk, sunray.pk}  # ZJU only failed to show up
    assert f.outside_user_ids == {world.researcher.pk, company_user.pk}
    assert f.utilisation == Decimal("0.0268")  # 18 / 672


def test_co_built_partner_against_its_share(world, october):
    report = facility_report(world.facility, parse_period("2026-10"))
    bl2 = report.instruments[1]
    assert _h(bl2.figures.available_minutes) == Decimal("696.00")
    [partner] = bl2.time_shares
    assert partner.institution == world.zju and partner.percent == Decimal("35")
    assert partner.reserved_minutes == 14616  # 35 % of 696 h = 243.6 h
    assert (partner.booked_minutes, partner.used_minutes) == (600, 600)
    assert partner.used_of_reserved == Decimal("0.0411")  # 10 / 243.6
    assert report.instruments[0].time_shares == []


def test_facility_totals_add_up_and_count_distinct_outsiders(world, october):
    _, _, sunray, company_user, _, _ = october
    totals = facility_report(world.facility, parse_period("2026-10")).totals
    assert _h(totals.available_minutes) == Decimal("1368.00")
    assert _h(totals.used_minutes) == Decimal("30.00")
    assert _h(totals.shared_minutes) == Decimal("24.00")
    assert totals.outside_institution_ids == {world.ustc.pk, sunray.pk, world.zju.pk}
    assert totals.outside_user_ids == {world.researcher.pk, company_user.pk, world.outsider.pk}
    assert totals.utilisation == Decimal("0.0219")  # 30 / 1368


def test_booking_across_a_boundary_is_split_between_periods(world, october):
    bl1 = facility_report(world.facility, parse_period("2026-09")).instruments[0].figures
    assert (bl1.booked_minutes, bl1.used_minutes) == (120, 120)  # 30 Sep 22:00–24:00
    nov = facility_report(world.facility, parse_period("2026-11")).instruments[0].figures
    assert (nov.booked_minutes, nov.used_minutes) == (120, 180)  # booked to 02:00, used to 03:00
    assert _h(nov.available_minutes) == Decimal("720.00")
    # The three months add up to the quarter, figure by figure.
    quarter = facility_report(world.facility, parse_period("2026-Q4")).instruments[0].figures
    months = [facility_report(world.facility, parse_period(f"2026-{m}")).instruments[0].figures for m in (10, 11, 12)]
    for name in ("available_minutes", "booked_minutes", "used_minutes", "shared_minutes", "no_show_minutes"):
        assert getattr(quarter, name) == sum(getattr(m, name) for m in months), name


def test_late_window_follows_billing_policy(world, october):
    from billing.models import ChargePolicy

    # Billing counts a cancellation exactly `late_cancel_hours` ahead as late; so does the report.
    ChargePolicy.objects.create(instrument=world.instrument, late_cancel_hours=72)
    f = facility_report(world.facility, parse_period("2026-10")).instruments[0].figures
    assert f.late_cancel_minutes == 240  # now the one cancelled three days ahead is late too


@pytest.fixture
def office_facility(world):
    """Open Monday to Friday 09:00–17:00 and closed on China's public holidays."""
    facility = FacilityFactory(
        code="OFFICE", host=world.ustc, province="anhui", city="Hefei", follows_office_calendar=True
    )
    for weekday in range(5):
        OperatingHours.objects.create(facility=facility, weekday=weekday, opens=dt.time(9), closes=dt.time(17))
    return facility, InstrumentFactory(facility=facility, code="TEM")


def test_national_day_and_make_up_workday(office_facility):
    facility, _ = office_facility
    # October 2026 has 22 weekdays; 1, 2, 5, 6 and 7 Oct are National Day, Saturday 10 Oct is worked.
    f = facility_report(facility, parse_period("2026-10")).totals
    assert _h(f.available_minutes) == Decimal(18 * 8)


def test_quarters_across_holidays(office_facility):
    facility, tem = office_facility
    # Q3: 66 weekdays; Friday 25 Sep (Mid-autumn) is off and Sunday 20 Sep is worked: 66 days.
    assert _h(facility_report(facility, parse_period("2026-Q3")).totals.available_minutes) == Decimal(66 * 8)
    # Q4: 66 weekdays, five of them National Day, one Saturday worked: 62 days; a half-day closure
    # on Tuesday 3 Nov 13:00–17:00 takes 4 more hours.
    Closure.objects.create(facility=facility, instrument=tem, start=at(11, 3, 13), end=at(11, 3, 20))
    assert _h(facility_report(facility, parse_period("2026-Q4")).totals.available_minutes) == Decimal(62 * 8 - 4)


def test_no_bookings_means_zero_use_and_a_rate(world):
    f = facility_report(world.facility, parse_period("2026")).instruments[0].figures
    assert (f.booked_minutes, f.used_minutes) == (0, 0)
    assert _h(f.available_minutes) == Decimal(365 * 24)
    assert f.utilisation == Decimal("0.0000")


def test_instrument_with_no_available_hours_has_no_rate(world):
    Closure.objects.create(facility=world.facility, start=at(10, 1), end=at(11, 1))
    f = facility_report(world.facility, parse_period("2026-10")).instruments[0].figures
    assert f.available_minutes == 0 and f.utilisation is None


def test_retired_instrument_stays_in_the_period_it_was_used(world, october):
    bl1, *_ = october
    bl1.active = False
    bl1.save()
    assert [r.instrument.code for r in facility_report(world.facility, parse_period("2026-10")).instruments] == [
        "BL1",
        "BL2",
    ]
    assert [r.instrument.code for r in facility_report(world.facility, parse_period("2025-10")).instruments] == ["BL2"]


def test_roll_ups_by_host_and_province(world, october, office_facility):
    period = parse_period("2026-10")
    sari = institution_roll_up(world.sari, period)
    assert [r.facility.code for r in sari.facilities] == ["FAC"]
    assert sari.totals.used_minutes == 30 * 60
    ustc = institution_roll_up(world.ustc, period)
    assert [r.facility.code for r in ustc.facilities] == ["OFFICE"]
    assert ustc.totals.used_minutes == 0 and ustc.totals.available_minutes == 144 * 60
    shanghai = province_roll_up("shanghai", period)
    assert [r.facility.code for r in shanghai.facilities] == ["FAC"]
    assert province_roll_up("anhui", period).totals.available_minutes == 144 * 60


def test_queries_do_not_grow_with_facilities_or_bookings(world, october, office_facility):
    period = parse_period("2026-10")
    # An office-calendar facility in the list costs one query for the public holidays, however many there are.
    with CaptureQueriesContext(connection) as one:
        facility_reports([world.facility, office_facility[0]], period)
    more = [FacilityFactory(code=f"MORE{n}") for n in range(3)]
    for n, facility in enumerate(more):
        inst = InstrumentFactory(facility=facility)
        for day in range(1, 11):
            past_booking(
                instrument=inst,
                requester=world.researcher,
                institution=world.ustc,
                start=at(10, day, 9),
                end=at(10, day, 10 + n),
            )
    with CaptureQueriesContext(connection) as many:
        reports = facility_reports([world.facility, office_facility[0], *more], period)
    # 8, used and idle time read from the usage app, and the office calendar's holidays once.
    assert len(many) == len(one) <= 13
    assert reports[4].totals.used_minutes == 10 * 3 * 60


def test_revenue_by_user_class_follows_billing_months(world, october):
    *_, b = october
    charge(b["ustc_actual"], user_class="external_academic", amount="300.00")
    charge(b["host"], user_class="internal", amount="120.50", subsidy="79.50")
    charge(b["company"], user_class="industry", amount="1000.00")
    charge(b["no_show"], user_class="external_academic", amount="150.25", kind="no_show")
    charge(b["from_september"], user_class="external_academic", amount="99.99")  # billed in September
    f = facility_report(world.facility, parse_period("2026-10")).instruments[0].figures
    assert f.revenue == {
        "external_academic": Decimal("450.25"),
        "internal": Decimal("120.50"),
        "industry": Decimal("1000.00"),
    }
    assert f.revenue_total == Decimal("1570.75")
    assert facility_report(world.facility, parse_period("2026-Q3")).totals.revenue == {
        "external_academic": Decimal("99.99")
    }
    assert facility_report(world.facility, parse_period("2026")).totals.revenue_total == Decimal("1670.74")


def test_actual_times_to_the_second_round_down_to_whole_minutes(world):
    past_booking(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=at(10, 2, 9),
        end=at(10, 2, 10),
        actual_start=at(10, 2, 9),
        actual_end=at(10, 2, 10, 0) + dt.timedelta(seconds=50),
    )
    past_booking(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=at(10, 3, 9),
        end=at(10, 3, 10),
        actual_start=at(10, 3, 9),
        actual_end=at(10, 3, 10, 0) + dt.timedelta(seconds=20),
    )
    f = facility_report(world.facility, parse_period("2026-10")).instruments[0].figures
    assert f.used_minutes == 121  # 2 h 70 s: the seconds are summed before rounding down
