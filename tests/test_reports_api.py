"""The reports API: who may read what, the answers' shape, the files, and clear errors."""

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from facilities.models.tenants import Role

from .factories.facilities import FacilityFactory, InstitutionFactory, UserFactory, member
from .factories.reports import charge, event
from .test_reports_figures import at, october_scene

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/sharing/"


@pytest.fixture
def october(world):
    """The October of test_reports_figures, whose every figure is worked out by hand."""
    return october_scene(world)


@pytest.fixture
def people(world):
    """Another facility's manager, and the administrators of SARI (FAC's host) and of USTC."""
    chmfl = InstitutionFactory(code="CHMFL", kind="institute")
    other = FacilityFactory(code="OTHER", host=chmfl, province="anhui", city="Hefei")
    other_manager = UserFactory(username="other.manager")
    member(other_manager, chmfl, Role.FACILITY_MANAGER, [other])
    sari_admin, ustc_admin = UserFactory(username="sari.admin"), UserFactory(username="ustc.admin")
    member(sari_admin, world.sari, Role.INSTITUTION_ADMIN)
    member(ustc_admin, world.ustc, Role.INSTITUTION_ADMIN)
    return other_manager, sari_admin, ustc_admin


def test_manager_reads_own_facility_with_hand_counted_figures(world, october):
    *_, b = october
    charge(b["company"], user_class="industry", amount="1000.00")
    r = world.client(world.manager).get(URL, {"facility": "FAC", "period": "2026-10"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["facility"]["code"] == "FAC" and body["facility"]["host"] == "SARI"
    assert body["period"] == {
        "label": "2026-10",
        "kind": "month",
        "start": "2026-10-01T00:00:00+08:00",
        "end": "2026-11-01T00:00:00+08:00",
    }
    bl1, bl2 = body["instruments"]
    assert {
        k: bl1[k]
        for k in (
            "code",
            "available_hours",
            "booked_hours",
            "used_hours",
            "utilisation",
            "host_hours",
            "shared_hours",
            "company_hours",
            "outside_institutions",
            "outside_users",
            "no_show_hours",
            "late_cancellation_hours",
        )
    } == {
        "code": "BL1",
        "available_hours": "672.00",
        "booked_hours": "24.00",
        "used_hours": "18.00",
        "utilisation": "0.0268",
        "host_hours": "6.00",
        "shared_hours": "12.00",
        "company_hours": "2.00",
        "outside_institutions": 2,
        "outside_users": 2,
        "no_show_hours": "3.00",
        "late_cancellation_hours": "2.00",
    }
    assert bl1["revenue"] == {"internal": "0.00", "external_academic": "0.00", "industry": "1000.00"}
    assert bl2["time_shares"] == [
        {
            "institution": "ZJU",
            "percent": "35.00",
            "reserved_hours": "243.60",
            "booked_hours": "10.00",
            "used_hours": "10.00",
            "used_of_reserved": "0.0411",
        }
    ]
    assert body["totals"]["used_hours"] == "30.00" and body["totals"]["outside_institutions"] == 3
    assert body["totals"]["revenue_total"] == "1000.00"


def test_csv_export_has_bilingual_headings_and_one_row_per_instrument(world, october):
    r = world.client(world.manager).get(URL, {"facility": "FAC", "period": "2026-Q4", "format": "csv"})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert 'filename="sharing-FAC-2026-Q4.csv"' in r["Content-Disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # a BOM, so spreadsheet programs read UTF-8
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    head, rows = table[0], table[1:]
    assert "Used hours / 运行机时" in head and "Shared hours (outside users) / 共享机时（对外服务）" in head
    assert [row[head.index("Instrument code / 仪器编号")] for row in rows] == ["BL1", "BL2"]
    bl1 = dict(zip(head, rows[0], strict=True))
    # Q4 holds all of October's use plus November's part of the 31 Oct booking (3 h used).
    assert bl1["Used hours / 运行机时"] == "21.00"
    assert bl1["Period / 报告期"] == "2026-Q4"
    assert dict(zip(head, rows[1], strict=True))[
        "Co-building partners: used / reserved hours / 共建单位：使用/预留机时"
    ].startswith("ZJU 35.00%: 10.00 / ")


def test_xlsx_export_opens_with_numbers_and_a_summary(world, october):
    r = world.client(world.admin).get(URL, {"facility": "fac", "period": "2026-10", "format": "xlsx"})
    assert r.status_code == 200
    assert r["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb["Instruments 仪器"]
    head = [c.value for c in sheet[1]]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 2
    bl1 = dict(zip(head, rows[0], strict=True))
    assert bl1["Instrument code / 仪器编号"] == "BL1"
    assert "Instrument name in Chinese / 仪器中文名称" in head  # empty here: the factory names no Chinese
    assert bl1["Used hours / 运行机时"] == 18.0 and bl1["Utilisation rate / 机时利用率"] == 0.0268
    summary = {row[0].value: row[1].value for row in wb["Summary 汇总"].iter_rows()}
    assert summary["Used hours / 运行机时"] == 30.0
    assert summary["Period / 报告期"] == "2026-10"


def test_who_may_read_a_facility_report(world, people):
    other_manager, sari_admin, ustc_admin = people
    query = {"facility": "FAC", "period": "2026-Q3"}
    for user in (world.manager, sari_admin, world.admin):
        assert world.client(user).get(URL, query).status_code == 200, user
    for user in (other_manager, ustc_admin, world.researcher, world.finance, world.outsider):
        r = world.client(user).get(URL, query)
        assert r.status_code == 403, user
        assert "managers" in r.json()["detail"]
    assert world.client(None).get(URL, query).status_code in (401, 403)
    # Another manager's facility is theirs to read, not FAC's manager's.
    assert world.client(other_manager).get(URL, {**query, "facility": "OTHER"}).status_code == 200
    assert world.client(world.manager).get(URL, {**query, "facility": "OTHER"}).status_code == 403
    # The file formats are guarded the same way.
    assert world.client(world.researcher).get(URL, {**query, "format": "xlsx"}).status_code == 403


@pytest.mark.parametrize(
    "query,field,words",
    [
        ({"period": "2026-Q3"}, "facility", "Name the facility"),
        ({"facility": "NOPE", "period": "2026-Q3"}, "facility", "no facility"),
        ({"facility": "FAC"}, "period", "Name a period"),
        ({"facility": "FAC", "period": "2026-Q5"}, "period", "not a period"),
        ({"facility": "FAC", "period": "2026-13"}, "period", "01 to 12"),
        ({"facility": "FAC", "period": "1999"}, "period", "2000 to 2099"),
        ({"facility": "FAC", "period": "last quarter"}, "period", "not a period"),
        ({"facility": "FAC", "period": "2026-Q3", "format": "pdf"}, "format", "json, csv or xlsx"),
    ],
)
def test_bad_queries_are_400_with_words(world, query, field, words):
    r = world.client(world.manager).get(URL, query)
    assert r.status_code == 400
    assert words in " ".join(r.json()[field])


def test_institution_roll_up_is_for_its_administrators(world, people, october):
    _, sari_admin, ustc_admin = people
    url = "/api/v1/reports/institutions/SARI/"
    r = world.client(sari_admin).get(url, {"period": "2026-10"})
    assert r.status_code == 200
    body = r.json()
    assert body["institution"]["code"] == "SARI"
    assert [f["code"] for f in body["facilities"]] == ["FAC"]
    assert body["totals"]["used_hours"] == "30.00" and body["facilities"][0]["shared_hours"] == "24.00"
    assert world.client(world.admin).get(url, {"period": "2026-10"}).status_code == 200
    for user in (ustc_admin, world.manager, world.researcher):
        assert world.client(user).get(url, {"period": "2026-10"}).status_code == 403
    assert world.client(sari_admin).get("/api/v1/reports/institutions/NOWHERE/", {"period": "2026"}).status_code == 404
    assert world.client(sari_admin).get(url, {"period": "2026-Q0"}).status_code == 400


def test_province_roll_up_is_for_platform_admins(world, people, october):
    url = "/api/v1/reports/provinces/shanghai/"
    r = world.client(world.admin).get(url, {"period": "2026-10"})
    assert r.status_code == 200 and r.json()["totals"]["used_hours"] == "30.00"
    assert world.client(world.manager).get(url, {"period": "2026-10"}).status_code == 403
    assert world.client(world.admin).get("/api/v1/reports/provinces/tibet/", {"period": "2026"}).status_code == 404


def test_fairness_shares_and_waiting_times(world, people, october):
    """BL1's October bookings by institution: USTC 13 h (2 Oct 4, 20 Oct 1, 1 Oct 4, 31 Oct 4), SARI 6,
    ZJU 3, SUNRAY 2; 24 h in all. Waiting: USTC asked twice and waited 4 h and 10 h, SARI once for 1 h;
    a ZJU request is still open, another was withdrawn; an auto-approved one never waited."""
    from booking.models import Booking

    *_, b = october
    event(b["ustc_actual"], "", "requested", at(10, 1, 10))
    event(b["ustc_actual"], "requested", "approved", at(10, 1, 14))
    event(b["rejected"], "", "requested", at(10, 3, 8))
    event(b["rejected"], "requested", "rejected", at(10, 3, 18))
    event(b["host"], "", "requested", at(10, 2, 9))
    event(b["host"], "requested", "approved", at(10, 2, 10))
    event(b["late"], "", "requested", at(10, 4, 9))
    event(b["late"], "requested", "cancelled", at(10, 4, 12))
    event(b["held"], "", "approved", at(10, 5, 9))
    pending = Booking.objects.create(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=at(11, 20, 9),
        end=at(11, 20, 10),
        hold_end=at(11, 20, 10),
        status="requested",
    )
    event(pending, "", "requested", at(10, 30, 9))
    # Asked in September: not October's waiting.
    event(b["from_september"], "", "requested", at(9, 1, 9))
    event(b["from_september"], "requested", "approved", at(10, 1, 9))

    r = world.client(world.manager).get("/api/v1/reports/fairness/", {"facility": "FAC", "period": "2026-10"})
    assert r.status_code == 200, r.content
    body = r.json()
    bl1 = body["instruments"][0]
    assert bl1["booked_hours"] == "24.00"
    assert [(i["institution"], i["booked_hours"], i["share"], i["internal"]) for i in bl1["institutions"]] == [
        ("USTC", "13.00", "0.5417", False),
        ("SARI", "6.00", "0.2500", True),
        ("ZJU", "3.00", "0.1250", False),
        ("SUNRAY", "2.00", "0.0833", False),
    ]
    waiting = body["waiting"]
    assert waiting["internal"] == {
        "decided": 1,
        "approved": 1,
        "rejected": 0,
        "median_hours": "1.00",
        "mean_hours": "1.00",
    }
    assert waiting["outside"] == {
        "decided": 2,
        "approved": 1,
        "rejected": 1,
        "median_hours": "7.00",
        "mean_hours": "7.00",
    }
    assert waiting["pending"] == 1
    assert [w["institution"] for w in waiting["by_institution"]] == ["SARI", "USTC"]
    assert (
        world.client(world.researcher)
        .get("/api/v1/reports/fairness/", {"facility": "FAC", "period": "2026-10"})
        .status_code
        == 403
    )


def test_report_query_count_does_not_grow_with_bookings(world, october, django_assert_max_num_queries):
    # 14 for the figures, and 1 for the facility's calls for proposals in the period (none here).
    with django_assert_max_num_queries(15):
        assert world.client(world.manager).get(URL, {"facility": "FAC", "period": "2026"}).status_code == 200
    assert (
        Decimal(
            world.client(world.manager).get(URL, {"facility": "FAC", "period": "2026"}).json()["totals"]["used_hours"]
        )
        > 0
    )
