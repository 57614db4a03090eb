"""The files for the national and provincial open-sharing platforms, against reference files committed in
tests/golden/ (each field compared, CSV and XLSX alike), and their totals against the sharing report.

The scene is the October of test_reports_figures (every hour worked out by hand there), with Chinese
names, a national registration for BL1 (BL2's original value is under the reporting threshold), purposes
and billing's charges:
- usage charges: USTC 2 Oct 300.00, SUNRAY 5 Oct 1000.00 (industry), the September booking 120.00
  (billed in September), the booking into November 200.00 (billed in October), ZJU on BL2 900.00;
- a no-show fee 150.00 and a late-cancellation fee 80.00, which are revenue but not service.
October's records: BL1 used 18 h (3 + 6 + 2 + 4 + 3), BL2 12 h; fees 2400.00 = 2630.00 revenue − 230.00.

Set UPDATE_GOLDEN=1 to rewrite the reference files (then read the diff before committing it)."""

import csv
import datetime as dt
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from billing.models import Charge
from booking.models import Booking
from facilities.models import InstrumentRegistration, RateCard
from reports.national import catalog_entries, service_records
from reports.national_exports import catalog_file, records_file
from reports.periods import parse_period
from reports.selectors import facility_report, hours

from .factories.reports import charge, past_booking
from .test_reports_figures import october_scene

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent / "golden"


def national_scene(world, settings):
    """October at FAC, ready for the national files. Returns (bl1, bl2, bookings)."""
    settings.SITE_URL = "https://sanjiao.example"
    bl1, bl2, sunray, company_user, sari_user, b = october_scene(world)
    for institution, name_zh in [
        (world.sari, "中国科学院上海高等研究院"),
        (world.ustc, "中国科学技术大学"),
        (world.zju, "浙江大学"),
        (sunray, "阳光材料有限公司（演示）"),
    ]:
        institution.name_zh = name_zh
        institution.save()
    world.facility.name_zh = "测试光源"
    world.facility.save()
    bl1.name = "BL1 X-ray diffraction beamline"
    bl1.name_zh = "BL1 X射线衍射线站"
    bl1.save()
    bl2.name = "BL2 Imaging beamline"  # no Chinese name: the files fall back to the English one
    bl2.save()
    world.researcher.first_name, world.researcher.last_name = "伟", "张"
    world.researcher.save()
    InstrumentRegistration.objects.create(
        instrument=bl1,
        registry_number="31000000FAC01",
        original_value=Decimal("12500000.00"),
        commissioning_date=dt.date(2009, 5, 6),
        classification_code="0103",
        specifications="能量范围 5–25 keV；光斑 0.5 mm × 0.3 mm",
        main_functions="粉末及薄膜X射线衍射",
        disciplines="物理学；化学；材料科学",
        service_content="线站机时，含技术支持",
        sharing_rules="用户须通过安全培训；按班次预约",
        location="上海市浦东新区张江 测试光源实验大厅",
        contact_name="李红",
        contact_phone="021-00000000",
        contact_email="bl1@sanjiao.example",
        sharing_mode="open",
        illustrative="原值、编号和联系方式为示例值",
    )
    InstrumentRegistration.objects.create(instrument=bl2, original_value=Decimal("450000.00"))
    for user_class, rate in [("internal", "100.00"), ("external_academic", "150.00"), ("industry", "300.00")]:
        RateCard.objects.create(instrument=bl1, user_class=user_class, hourly_rate=Decimal(rate))
    purposes = {
        "ustc_actual": "催化剂原位XRD",
        "host": "Beamline commissioning, host group",
        "company": "电池正极材料物相分析",
        "from_september": "Thin-film strain, night shift",
        "into_november": "Phase transitions under heating",
        "partner": "Imaging of soil samples",
    }
    for key, purpose in purposes.items():
        b[key].purpose = purpose
        b[key].save(update_fields=["purpose"])
    charge(b["ustc_actual"], user_class="external_academic", amount="300.00")
    charge(b["company"], user_class="industry", amount="1000.00")
    charge(b["from_september"], user_class="external_academic", amount="120.00")
    charge(b["into_november"], user_class="external_academic", amount="200.00")
    charge(b["partner"], user_class="external_academic", amount="900.00")
    charge(b["no_show"], user_class="external_academic", amount="150.00", kind="no_show")
    charge(b["late"], user_class="external_academic", amount="80.00", kind="late_cancellation")
    return bl1, bl2, b


@pytest.fixture
def scene(world, settings):
    return national_scene(world, settings)


def _placeholders(rows: list[list[str]], ids: dict[str, int]) -> list[list[str]]:
    """Instrument ids differ from run to run: the reference files say {BL1} where the id stands."""
    out = []
    for row in rows:
        fixed = []
        for value in row:
            for code, pk in ids.items():
                value = value.replace(f"/instruments/{pk}/", f"/instruments/{{{code}}}/")
            fixed.append(value)
        out.append(fixed)
    return out


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _xlsx_rows(body: bytes) -> tuple[str, list[list[str]]]:
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        # openpyxl reads 4.0 back as 4: numbers are compared with the CSV's two decimals.
        rows.append(["" if v is None else (f"{v:.2f}" if isinstance(v, int | float) else str(v)) for v in row])
    return sheet.title, rows


def _compare(name: str, rows: list[list[str]], *, reference: bool = False) -> None:
    """Field by field against the reference file; `reference`: these rows may rewrite it (UPDATE_GOLDEN)."""
    path = GOLDEN / name
    if reference and os.environ.get("UPDATE_GOLDEN"):
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    with path.open(encoding="utf-8", newline="") as fh:
        expected = list(csv.reader(fh))
    assert len(rows) == len(expected), f"{name}: {len(rows)} rows, expected {len(expected)}"
    header = expected[0]
    assert rows[0] == header, f"{name}: the header differs"
    for n, (got, want) in enumerate(zip(rows[1:], expected[1:], strict=True), start=2):
        for field, g, w in zip(header, got, want, strict=True):
            assert g == w, f"{name} row {n}, {field}: {g!r}, expected {w!r}"


def _ids(bl1, bl2) -> dict[str, int]:
    return {"BL1": bl1.pk, "BL2": bl2.pk}


def test_national_catalog_file_matches_the_reference(world, scene):
    bl1, bl2, _ = scene
    entries = catalog_entries([world.facility])
    assert [e.instrument.code for e in entries] == ["BL1"]  # BL2 is under 500,000 CNY
    csv_rows = _placeholders(_csv_rows(catalog_file(entries, "csv")), _ids(bl1, bl2))
    _compare("national_catalog.csv", csv_rows, reference=True)
    title, rows = _xlsx_rows(catalog_file(entries, "xlsx"))
    assert title == "科研仪器"
    _compare("national_catalog.csv", _placeholders(rows, _ids(bl1, bl2)))


@pytest.mark.parametrize("template", ["national", "zhejiang"])
def test_service_record_files_match_the_references(world, scene, template):
    bl1, bl2, _ = scene
    records = service_records([world.facility], parse_period("2026-10"))
    reference = f"{template}_service_records_2026-10.csv"
    _compare(reference, _csv_rows(records_file(records, template, "csv")), reference=True)
    title, rows = _xlsx_rows(records_file(records, template, "xlsx"))
    assert title == "服务记录"
    _compare(reference, rows)


def test_xlsx_holds_hours_and_money_as_numbers(world, scene):
    records = service_records([world.facility], parse_period("2026-10"))
    sheet = load_workbook(io.BytesIO(records_file(records, "national", "xlsx"))).worksheets[0]
    header = [c.value for c in sheet[1]]
    hours_col, fee_col = header.index("服务机时（小时）"), header.index("服务收费金额（元）")
    assert [row[hours_col].value for row in sheet.iter_rows(min_row=2)] == [4, 3, 6, 2, 3, 10, 2]
    assert sum(row[fee_col].value for row in sheet.iter_rows(min_row=2)) == 2400.0


def test_records_reconcile_with_the_sharing_report(world, scene):
    period = parse_period("2026-10")
    report = facility_report(world.facility, period)
    records = service_records([world.facility], period)
    assert hours(records.used_minutes) == hours(report.totals.used_minutes) == Decimal("30.00")
    for line in report.instruments:
        seconds = sum(r.used_seconds for r in records.records if r.booking.instrument_id == line.instrument.pk)
        assert seconds // 60 == line.figures.used_minutes
    not_service = Decimal("230.00")  # the no-show and late-cancellation fees
    assert report.totals.revenue_total == Decimal("2630.00")
    assert records.fees == report.totals.revenue_total - not_service == Decimal("2400.00")


def test_september_gets_its_part_and_its_charge(world, scene):
    _, _, b = scene
    period = parse_period("2026-09")
    records = service_records([world.facility], period)
    assert [(r.booking.pk, r.used_hours, r.fee) for r in records.records] == [
        (b["from_september"].pk, Decimal("2.00"), Decimal("120.00"))
    ]
    report = facility_report(world.facility, period)
    assert records.used_minutes == report.totals.used_minutes == 120
    assert records.fees == report.totals.revenue_total


def test_a_booking_billed_in_the_period_but_used_outside_it_is_listed_with_no_hours(world, scene):
    _, _, b = scene
    moved = b["company"]  # billed in October (its booked start); say its use was recorded in September
    moved.actual_start = dt.datetime(2026, 9, 29, 8, tzinfo=moved.start.tzinfo)
    moved.actual_end = dt.datetime(2026, 9, 29, 10, tzinfo=moved.start.tzinfo)
    moved.save()
    period = parse_period("2026-10")
    records = service_records([world.facility], period)
    [row] = [r for r in records.records if r.booking.pk == moved.pk]
    assert (row.used_seconds, row.fee) == (0, Decimal("1000.00"))
    assert records.used_minutes == facility_report(world.facility, period).totals.used_minutes


def test_actual_times_to_the_second_reconcile_as_the_report_rounds(world, scene):
    _, _, b = scene
    odd = b["ustc_actual"]
    odd.actual_start = odd.actual_start + dt.timedelta(seconds=20)
    odd.actual_end = odd.actual_end + dt.timedelta(seconds=50)
    odd.save()
    period = parse_period("2026-10")
    assert (
        service_records([world.facility], period).used_minutes
        == facility_report(world.facility, period).totals.used_minutes
    )


TZ = dt.timezone(dt.timedelta(hours=8))
STATUSES = ["completed", "completed", "no_show", "approved", "cancelled"]
record_specs = st.lists(
    st.tuples(
        st.integers(min_value=-72, max_value=31 * 24 + 48),  # start, hours from 1 October (some outside)
        st.integers(min_value=1, max_value=30),  # hours long
        st.sampled_from(STATUSES),
        st.integers(min_value=-5400, max_value=5400),  # actual start shift, seconds
        st.integers(min_value=-5400, max_value=5400),  # actual end shift, seconds
        st.booleans(),  # the host's booking, or the outsider's
        st.one_of(st.none(), st.decimals(min_value=0, max_value=99999, places=2)),  # its charge
    ),
    max_size=10,
)


@hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=record_specs)
def test_records_always_reconcile_with_the_report(world, specs):
    """Whatever the bookings, their actual times (to the second) and charges: the records' hours are the
    report's used hours, and their fees are its revenue less the no-show and late-cancellation fees."""
    Charge.objects.all().delete()
    Booking.objects.all().delete()
    start_of_october = dt.datetime(2026, 10, 1, tzinfo=TZ)
    cursor = start_of_october - dt.timedelta(days=10)
    not_service = Decimal("0.00")
    for offset, length, status, shift_a, shift_b, by_host, amount in specs:
        start = max(start_of_october + dt.timedelta(hours=offset), cursor)
        end = start + dt.timedelta(hours=length)
        cursor = end + dt.timedelta(hours=3)
        actual = {}
        if status == "completed":
            a_start = start + dt.timedelta(seconds=shift_a)
            a_end = max(end + dt.timedelta(seconds=shift_b), a_start + dt.timedelta(minutes=1))
            actual = {"actual_start": a_start, "actual_end": a_end}
        booking = past_booking(
            instrument=world.instrument,
            requester=world.manager if by_host else world.outsider,
            institution=world.sari if by_host else world.zju,
            start=start,
            end=end,
            status=status,
            cancelled_at=start - dt.timedelta(hours=1) if status == "cancelled" else None,
            **actual,
        )
        if amount is not None and status in ("completed", "no_show", "cancelled"):
            kind = {"completed": "usage", "no_show": "no_show", "cancelled": "late_cancellation"}[status]
            charge(booking, user_class="external_academic", amount=str(amount), kind=kind)
            if kind != "usage" and booking.start.astimezone(TZ).month == 10 and booking.start.year == 2026:
                not_service += amount
    for label in ("2026-10", "2026-Q4"):
        period = parse_period(label)
        report = facility_report(world.facility, period)
        records = service_records([world.facility], period)
        assert records.used_minutes == report.totals.used_minutes
        if label == "2026-10":
            assert records.fees == report.totals.revenue_total - not_service
        assert all(r.used_seconds >= 0 for r in records.records)


@pytest.mark.parametrize(
    "first,last,expected",
    [("伟", "张", "张伟"), ("Lin", "Chen", "Chen Lin"), ("", "", "res"), ("Wei", "", "Wei")],
)
def test_user_names_family_name_first(world, first, last, expected):
    from types import SimpleNamespace

    from reports.national_exports import user_name

    world.researcher.first_name, world.researcher.last_name = first, last
    assert user_name(SimpleNamespace(booking=SimpleNamespace(requester=world.researcher))) == expected
