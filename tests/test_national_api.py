"""The national platform's data over HTTP: who may pull what, the JSON shapes and totals, the files,
clear errors, and a fixed number of queries."""

import csv
import io

import pytest
from openpyxl import load_workbook

from facilities.models.tenants import Role

from .factories.facilities import FacilityFactory, InstitutionFactory, UserFactory, member
from .test_national_exports import national_scene

pytestmark = pytest.mark.django_db
CATALOG = "/api/v1/reports/national/instruments/"
RECORDS = "/api/v1/reports/national/service-records/"


@pytest.fixture
def scene(world, settings):
    return national_scene(world, settings)


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


@pytest.mark.parametrize("url", [CATALOG, RECORDS])
def test_you_may_not_touch_this(world, scene, people, url):
    other_manager, _, ustc_admin = people
    params = {"facility": "FAC", "period": "2026-10"}
    assert world.client(None).get(url, params).status_code == 401
    for user in (world.researcher, world.finance, world.outsider, other_manager, ustc_admin):
        r = world.client(user).get(url, params)
        assert r.status_code == 403, (user.username, r.content)
        assert "may not read" in r.json()["detail"]
    for user in (world.researcher, world.finance, world.outsider):  # nothing to read at all
        r = world.client(user).get(url, {"period": "2026-10"})
        assert r.status_code == 403, user.username
    # By institution: only its administrators and platform administrators.
    for user in (world.manager, other_manager, ustc_admin, world.researcher):
        r = world.client(user).get(url, {"institution": "SARI", "period": "2026-10"})
        assert r.status_code == 403, user.username
    # The files are refused alike.
    r = world.client(world.finance).get(url, {**params, "format": "xlsx"})
    assert r.status_code == 403


@pytest.mark.parametrize("url", [CATALOG, RECORDS])
def test_who_may_pull(world, scene, people, url):
    _, sari_admin, _ = people
    for user, params in [
        (world.manager, {"facility": "FAC"}),
        (world.manager, {}),
        (sari_admin, {"facility": "FAC"}),
        (sari_admin, {"institution": "SARI"}),
        (world.admin, {"institution": "sari"}),
        (world.admin, {}),
    ]:
        r = world.client(user).get(url, {**params, "period": "2026-10"})
        assert r.status_code == 200, (user.username, params, r.content)
        assert r.json()["count"] >= 1


def test_a_manager_without_parameters_sees_only_own_facilities(world, scene, people):
    other_manager, *_ = people
    # OTHER has a registered, reportable instrument too; FAC's manager must not see it.
    from decimal import Decimal

    from facilities.models import Facility, InstrumentRegistration

    from .factories.facilities import InstrumentFactory

    InstrumentRegistration.objects.create(
        instrument=InstrumentFactory(facility=Facility.objects.get(code="OTHER"), code="M1"),
        original_value=Decimal("900000"),
    )
    mine = world.client(world.manager).get(CATALOG).json()
    assert [(i["facility"], i["code"]) for i in mine["results"]] == [("FAC", "BL1")]
    theirs = world.client(other_manager).get(CATALOG).json()
    assert [(i["facility"], i["code"]) for i in theirs["results"]] == [("OTHER", "M1")]
    everything = world.client(world.admin).get(CATALOG).json()
    assert [(i["facility"], i["code"]) for i in everything["results"]] == [("FAC", "BL1"), ("OTHER", "M1")]


def test_catalog_item(world, scene):
    bl1, _, _ = scene
    body = world.client(world.manager).get(CATALOG, {"facility": "FAC"}).json()
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    [item] = body["results"]
    assert item == {
        "id": bl1.pk,
        "code": "BL1",
        "facility": "FAC",
        "host": "SARI",
        "name": "BL1 X-ray diffraction beamline",
        "name_zh": "BL1 X射线衍射线站",
        "registry_number": "31000000FAC01",
        "local_number": "FAC/BL1",
        "classification_code": "0103",
        "classification_zh": "X射线仪器",
        "original_value": "12500000.00",
        "commissioning_date": "2009-05-06",
        "specifications": "能量范围 5–25 keV；光斑 0.5 mm × 0.3 mm",
        "main_functions": "粉末及薄膜X射线衍射",
        "disciplines": "物理学；化学；材料科学",
        "service_content": "线站机时，含技术支持",
        "sharing_rules": "用户须通过安全培训；按班次预约",
        "fees_zh": "单位内部 100.00 元/小时；外单位（高校及科研院所） 150.00 元/小时；企业 300.00 元/小时",
        "rates": {"external_academic": "150.00", "industry": "300.00", "internal": "100.00"},
        "booking_url": f"https://sanjiao.example/instruments/{bl1.pk}/",
        "location": "上海市浦东新区张江 测试光源实验大厅",
        "contact": {"name": "李红", "phone": "021-00000000", "email": "bl1@sanjiao.example"},
        "sharing_mode": "open",
        "illustrative": "原值、编号和联系方式为示例值",
    }


def test_records_json_pages_and_totals_match_the_sharing_report(world, scene):
    _, _, b = scene
    client = world.client(world.manager)
    report = client.get("/api/v1/reports/sharing/", {"facility": "FAC", "period": "2026-10"}).json()
    r = client.get(RECORDS, {"facility": "FAC", "period": "2026-10", "page_size": 5})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 7 and len(body["results"]) == 5 and body["next"] and body["previous"] is None
    assert body["totals"] == {"records": 7, "used_hours": report["totals"]["used_hours"], "fees": "2400.00"}
    assert body["totals"]["used_hours"] == "30.00"
    assert body["period"]["label"] == "2026-10"
    first = body["results"][0]
    assert first == {
        "booking": b["from_september"].pk,
        "facility": "FAC",
        "instrument": b["from_september"].instrument_id,
        "instrument_code": "BL1",
        "instrument_name": "BL1 X-ray diffraction beamline",
        "instrument_name_zh": "BL1 X射线衍射线站",
        "registry_number": "31000000FAC01",
        "user": "res",
        "user_name": "张伟",
        "institution": "USTC",
        "institution_name": "University of Science and Technology of China",
        "institution_name_zh": "中国科学技术大学",
        "user_type": "external_academic",
        "start": "2026-09-30T22:00:00+08:00",
        "end": "2026-10-01T04:00:00+08:00",
        "used_hours": "4.00",
        "content": "Thin-film strain, night shift",
        "fee": "0.00",
    }
    rest = client.get(body["next"]).json()
    assert len(rest["results"]) == 2 and rest["totals"] == body["totals"]


def test_files_over_http(world, scene):
    client = world.client(world.manager)
    r = client.get(RECORDS, {"facility": "FAC", "period": "2026-10", "format": "csv", "template": "zhejiang"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert 'filename="zhejiang-service-records-FAC-2026-10.csv"' in r["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["仪器编号", "仪器名称", "用户姓名"] and len(rows) == 8
    r = client.get(CATALOG, {"facility": "FAC", "format": "xlsx"})
    assert r.status_code == 200
    assert 'filename="national-catalog-FAC.xlsx"' in r["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert sheet["E2"].value == "BL1 X射线衍射线站" and sheet["I2"].value == 12500000


@pytest.mark.parametrize(
    "url,params,field",
    [
        (RECORDS, {"facility": "FAC"}, "period"),
        (RECORDS, {"facility": "FAC", "period": "2026-13"}, "period"),
        (RECORDS, {"facility": "FAC", "period": "2026-10", "template": "jiangsu"}, "template"),
        (RECORDS, {"facility": "FAC", "period": "2026-10", "format": "pdf"}, "format"),
        (CATALOG, {"facility": "NOPE"}, "facility"),
        (CATALOG, {"institution": "NOPE"}, "institution"),
        (CATALOG, {"facility": "FAC", "institution": "SARI"}, "institution"),
        (CATALOG, {"format": "x" * 5000}, "format"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(world, scene, url, params, field):
    r = world.client(world.admin).get(url, params)
    assert r.status_code == 400, r.content
    assert field in r.json()


def test_queries_do_not_grow_with_records(world, scene, django_assert_max_num_queries):
    client = world.client(world.admin)
    with django_assert_max_num_queries(6):
        assert client.get(RECORDS, {"facility": "FAC", "period": "2026-10"}).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(CATALOG).status_code == 200


def test_schema_lists_both_endpoints(world):
    r = world.client(None).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    paths = r.json()["paths"] if r["Content-Type"].startswith("application/json") else r.content.decode()
    assert CATALOG in paths and RECORDS in paths


def test_the_manager_console_links_the_platform_files_and_they_download_in_the_browser(world, scene):
    import html
    import re

    from django.test import Client
    from django.urls import reverse

    browser = Client()
    browser.force_login(world.manager)
    page = browser.get(reverse("frontend:console_facility", args=["FAC"]), {"period": "2026-10"}).content.decode()
    links = [html.unescape(h) for h in re.findall(r'href="(/api/v1/reports/national/[^"]+)"', page)]
    assert links == [
        f"{CATALOG}?facility=FAC&format=xlsx",
        f"{RECORDS}?facility=FAC&period=2026-10&format=xlsx",
        f"{RECORDS}?facility=FAC&period=2026-10&format=xlsx&template=zhejiang",
    ]
    for link in links:
        r = browser.get(link)  # the browser's session is enough
        assert r.status_code == 200 and r["Content-Disposition"].endswith('.xlsx"'), link
    outsider = Client()
    outsider.force_login(world.outsider)
    assert outsider.get(links[1]).status_code == 403


def test_the_sharing_report_file_carries_the_chinese_names(world, scene):
    r = world.client(world.manager).get(
        "/api/v1/reports/sharing/", {"facility": "FAC", "period": "2026-10", "format": "csv"}
    )
    head, bl1, bl2 = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert dict(zip(head, bl1, strict=True))["Instrument name in Chinese / 仪器中文名称"] == "BL1 X射线衍射线站"
    assert dict(zip(head, bl2, strict=True))["Instrument name in Chinese / 仪器中文名称"] == ""
    body = world.client(world.manager).get("/api/v1/reports/sharing/", {"facility": "FAC", "period": "2026-10"}).json()
    assert body["instruments"][0]["name_zh"] == "BL1 X射线衍射线站"
