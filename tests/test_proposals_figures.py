"""The figures of calls for proposals (issue 17, item 8) are in the facility's sharing report and its XLSX,
the same figures as the call's own report: one definition each (reports/proposals.py)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from booking.models import Booking
from facilities.models import TimeShare
from proposals.models import Proposal, ShiftRequest
from proposals.states import ProposalStatus, Track
from usage.models import UsageSession

from .factories.booking import BookingFactory
from .factories.proposals import make_call, office


@pytest.fixture
def call(world):
    call = make_call(world)
    TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent=Decimal("25"))
    for n, (who, inst, status, track, awarded) in enumerate(
        [
            (world.researcher, world.ustc, ProposalStatus.AWARDED, Track.RAPID, 2),
            (world.outsider, world.zju, ProposalStatus.SUBMITTED, Track.REGULAR, None),
            (world.researcher, world.ustc, ProposalStatus.SUBMITTED, Track.REGULAR, None),
        ]
    ):
        p = Proposal.objects.create(
            call=call, track=track, principal_investigator=who, institution=inst, title=f"P{n}", status=status
        )
        ShiftRequest.objects.create(proposal=p, instrument=world.instrument, shifts_requested=4, shifts_awarded=awarded)
    # The partner booked 12 h in the cycle and used 5 of them (recorded use).
    start = dt.datetime.combine(call.cycle_start + dt.timedelta(days=3), dt.time(8), timezone.get_current_timezone())
    b = BookingFactory(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        status=Booking.Status.COMPLETED,
        start=start,
        end=start + dt.timedelta(hours=12),
    )
    UsageSession.objects.create(
        instrument=world.instrument,
        user=world.outsider,
        booking=b,
        start=start,
        end=start + dt.timedelta(hours=5),
        last_seen=start + dt.timedelta(hours=5),
        source=UsageSession.Source.QR,
    )
    return call


def test_the_sharing_report_carries_the_calls_of_its_period(world, call):
    manager = world.client(world.manager)
    period = f"{call.cycle_start.year}-{call.cycle_start.month:02d}"
    r = manager.get("/api/v1/reports/sharing/", {"facility": world.facility.code, "period": period})
    assert r.status_code == 200, r.json()
    beamtime = r.json()["beamtime"]
    assert [c["call"]["code"] for c in beamtime] == [call.code]
    # The same figures as the call's own report, by construction.
    own = manager.get(f"/api/v1/reports/calls/{call.pk}/").json()
    assert beamtime[0] == own
    # 12 shifts: 3 for ZJU (25 %), 3 rapid, 6 for the panel; 8 requested by regular proposals.
    assert own["instruments"][0]["oversubscription"] == "1.33"
    assert own["awarded_by_institution"] == [{"institution": "USTC", "shifts_awarded": 2}]
    assert own["awarded_by_province"] == [{"province": "anhui", "shifts_awarded": 2}]
    # The partner's hours are the sharing report's booked and used hours over the cycle: 12 of 96 offered.
    assert own["partner_shares"] == [
        {
            "instrument": "BL1",
            "partner": "ZJU",
            "share_percent": "25.00",
            "hours": "12.00",
            "used_hours": "5.00",
            "actual_percent": "12.50",
            "met": False,
        }
    ]
    shares = r.json()["instruments"][0]["time_shares"][0]
    assert (shares["booked_hours"], shares["used_hours"]) == ("12.00", "5.00")

    # A period before the cycle has no calls in it.
    before = f"{timezone.localdate().year - 1}"
    r = manager.get("/api/v1/reports/sharing/", {"facility": world.facility.code, "period": before})
    assert r.json()["beamtime"] == []


def test_the_sharing_workbook_has_the_beamtime_sheets(world, call):
    period = f"{call.cycle_start.year}-{call.cycle_start.month:02d}"
    x = world.client(world.manager).get(
        "/api/v1/reports/sharing/", {"facility": world.facility.code, "period": period, "format": "xlsx"}
    )
    assert x.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(x.streaming_content) if x.streaming else x.content))
    assert book.sheetnames == [
        "Instruments 仪器",
        "Summary 汇总",
        "Beamtime Instruments 仪器",
        "Beamtime Institutions 单位",
        "Beamtime Provinces 省市",
        "Beamtime Partner shares 共建份额",
    ]
    label = f"{world.facility.code} {call.code}"
    assert [c.value for c in book["Beamtime Instruments 仪器"][2]][:2] == [label, "BL1"]
    assert [c.value for c in book["Beamtime Institutions 单位"][2]] == [label, "USTC", 2]
    assert [c.value for c in book["Beamtime Partner shares 共建份额"][2]] == [
        label,
        "BL1",
        "ZJU",
        25.0,
        12.0,
        12.5,
        "no 否",
        5.0,
    ]
    # The call's own workbook: the same sheets without the call column.
    own = world.client(office(world)).get(f"/api/v1/reports/calls/{call.pk}/?format=xlsx")
    own_book = load_workbook(io.BytesIO(own.content))
    assert [c.value for c in own_book["Institutions 单位"][2]] == ["USTC", 2]


def test_who_may_read_the_sharing_report_is_unchanged(world, call):
    period = f"{call.cycle_start.year}-{call.cycle_start.month:02d}"
    for user, code in ((world.researcher, 403), (world.outsider, 403), (None, 401), (world.admin, 200)):
        r = world.client(user).get("/api/v1/reports/sharing/", {"facility": world.facility.code, "period": period})
        assert r.status_code == code


def test_the_beamtime_figures_cost_the_same_queries_at_any_size(world, call, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    manager = world.client(world.manager)
    period = f"{call.cycle_start.year}-{call.cycle_start.month:02d}"
    query = {"facility": world.facility.code, "period": period}
    with CaptureQueriesContext(connection) as before:
        manager.get("/api/v1/reports/sharing/", query)
    # More proposals, sessions' bookings and use: the same number of queries.
    for n in range(5):
        draft = Proposal.objects.create(
            call=call,
            track=Track.REGULAR,
            principal_investigator=world.outsider,
            institution=world.zju,
            title=f"More {n}",
            status=ProposalStatus.SUBMITTED,
        )
        ShiftRequest.objects.create(proposal=draft, instrument=world.instrument, shifts_requested=2)
        start = dt.datetime.combine(
            call.cycle_start + dt.timedelta(days=5 + n), dt.time(8), timezone.get_current_timezone()
        )
        BookingFactory(
            instrument=world.instrument,
            requester=world.outsider,
            institution=world.zju,
            status=Booking.Status.COMPLETED,
            start=start,
            end=start + dt.timedelta(hours=2),
        )
    with django_assert_num_queries(len(before.captured_queries)):
        r = manager.get("/api/v1/reports/sharing/", query)
    assert r.json()["beamtime"][0]["instruments"][0]["requested"] == 18
