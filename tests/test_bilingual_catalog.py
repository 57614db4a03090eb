"""The catalog in Chinese and English: the seed carries both for institutions, cities, facilities, hosts,
instruments and descriptions; the API gives both side by side; pages show the reader's language; the
seed's instruments carry the national platform's fields, and say which values are illustrative."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing.demo import _agency
from facilities.models import Facility, Institution, Instrument, InstrumentRegistration
from reports.national import catalog_entries
from reports.national_exports import catalog_file

pytestmark = pytest.mark.django_db
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def seeded(db):
    call_command("seed_catalog", verbosity=0)
    call_command("seed_demo_people", verbosity=0)
    _agency()  # billing's demo adds the voucher-issuing agency


def _chinese(text: str) -> bool:
    return bool(HAN.search(text or ""))


def test_every_seeded_institution_facility_and_instrument_has_chinese_names(seeded):
    institutions = list(Institution.objects.all())
    assert len(institutions) >= 20
    for i in institutions:
        assert _chinese(i.name_zh) and _chinese(i.city_zh), i.code
    for f in Facility.objects.all():
        assert _chinese(f.name_zh) and _chinese(f.city_zh) and _chinese(f.host_label_zh), f.code
        assert _chinese(f.description_zh) and f.description, f.code
    instruments = list(Instrument.objects.select_related("facility"))
    assert len(instruments) == 104
    for i in instruments:
        assert _chinese(i.name_zh) and _chinese(i.description_zh), f"{i.facility.code}/{i.code}"
        # Seeded rules and rates are illustrative in both languages.
        assert "illustrative" in i.description.lower() and "示例" in i.description_zh, i.code


def test_seeded_instruments_carry_the_national_fields_and_say_what_is_illustrative(seeded):
    registrations = list(InstrumentRegistration.objects.select_related("instrument__facility"))
    assert len(registrations) == 104
    for r in registrations:
        key = f"{r.instrument.facility.code}/{r.instrument.code}"
        assert r.classification_code and r.location and r.disciplines and r.sharing_rules, key
        assert r.commissioning_date and "示例" in r.illustrative, key
        assert (r.original_value is None) or ("原值" in r.illustrative), key
    # Slots that are not instruments have no original value, so they are not reported.
    not_reported = {f"{r.instrument.facility.code}/{r.instrument.code}" for r in registrations if not r.must_report}
    assert not_reported == {"SULF/SULF-EXP-AREA", "EAST/DIAG-PORT", "NANO-X/UHV-TRANSFER"}
    # Public facts: SSRF opened to users with its first seven beamlines on 6 May 2009.
    first = InstrumentRegistration.objects.get(instrument__facility__code="SSRF", instrument__code="BL14W1")
    assert first.commissioning_date == dt.date(2009, 5, 6) and "启用日期" not in first.illustrative.split("；")[0]
    later = InstrumentRegistration.objects.get(instrument__facility__code="SSRF", instrument__code="BL02U1")
    assert "启用日期" in later.illustrative


def test_seed_twice_changes_no_registration(seeded):
    before = sorted(map(repr, InstrumentRegistration.objects.values()))
    call_command("seed_catalog", verbosity=0)
    assert sorted(map(repr, InstrumentRegistration.objects.values())) == before


def test_the_seeded_ssrf_catalog_file_uses_chinese_names(seeded, settings):
    settings.SITE_URL = "https://sanjiao.example"
    ssrf = Facility.objects.get(code="SSRF")
    rows = list(csv.reader(io.StringIO(catalog_file(catalog_entries([ssrf]), "csv").decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert len(body) == 16
    row = dict(zip(header, body[0], strict=True))
    assert row["所属单位"] == "中国科学院上海高等研究院" and row["所属设施/平台"] == "上海同步辐射光源"
    assert all(_chinese(dict(zip(header, r, strict=True))["仪器名称"]) for r in body)
    assert Decimal(row["原值（元）"]) >= Decimal("500000")
    assert row["预约网址"].startswith("https://sanjiao.example/instruments/")


def test_api_gives_both_languages_beside_the_spec_fields(seeded, client):
    item = client.get("/api/v1/facilities/?province=anhui&page_size=100").json()["results"]
    shmff = next(f for f in item if f["code"] == "SHMFF")
    assert (shmff["name_zh"], shmff["city"], shmff["city_zh"]) == ("稳态强磁场实验装置", "Hefei", "合肥")
    assert shmff["host"].startswith("High Magnetic Field Laboratory") and shmff["host_zh"] == "中国科学院强磁场科学中心"
    detail = client.get("/api/v1/facilities/SHMFF/").json()
    assert _chinese(detail["description_zh"]) and not _chinese(detail["description"])
    hybrid = next(i for i in detail["instruments"] if i["code"] == "HYBRID-45T")
    assert hybrid["name"] == "Hybrid magnet (45.22 T)" and hybrid["name_zh"] == "混合磁体（45.22 T）"
    assert "45.22" in hybrid["description_zh"]


def test_pages_show_the_readers_language(seeded):
    hybrid = Instrument.objects.get(facility__code="SHMFF", code="HYBRID-45T")
    english, chinese = Client(), Client()
    chinese.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/catalog/"})
    page = english.get(reverse("frontend:instrument", args=[hybrid.pk])).content.decode()
    assert "Hybrid magnet (45.22 T)" in page and "混合磁体" not in page
    page = chinese.get(reverse("frontend:instrument", args=[hybrid.pk])).content.decode()
    assert "混合磁体（45.22 T）" in page and hybrid.description_zh in page
    facility = chinese.get(reverse("frontend:facility", args=["SHMFF"])).content.decode()
    assert "中国科学院强磁场科学中心" in facility and "合肥" in facility and "水冷磁体 WM1" in facility
    catalog = chinese.get(reverse("frontend:catalog")).content.decode()
    assert "稳态强磁场实验装置" in catalog and "中国科学技术大学" in catalog
    assert "University of Science and Technology of China" in english.get(reverse("frontend:catalog")).content.decode()


def test_mail_in_chinese_names_the_instrument_in_chinese(
    world, tomorrow_9, django_capture_on_commit_callbacks, mailoutbox
):
    from booking.services import booking_request
    from config.celery import app

    world.instrument.name, world.instrument.name_zh = "BL1 Diffraction beamline", "BL1 衍射线站"
    world.instrument.save()
    world.facility.name_zh = "测试光源"
    world.facility.save()
    world.researcher.language = "zh-hans"
    world.researcher.save()
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            booking_request(
                requester=world.researcher,
                instrument=world.instrument,
                start=tomorrow_9,
                end=tomorrow_9 + dt.timedelta(hours=1),
            )
    finally:
        app.conf.task_always_eager = eager
    [mine] = [m for m in mailoutbox if m.to == [world.researcher.email]]
    assert "BL1 衍射线站（测试光源）" in mine.body and "Diffraction" not in mine.body


def test_calendar_feed_in_chinese_names_the_instrument_in_chinese(world, tomorrow_9, client):
    import icalendar

    from booking.services import booking_request

    world.instrument.name, world.instrument.name_zh = "BL1 Diffraction beamline", "BL1 衍射线站"
    world.instrument.save()
    world.facility.name, world.facility.name_zh, world.facility.city_zh = "Test light source", "测试光源", "上海"
    world.facility.save()
    booking_request(
        requester=world.researcher,
        instrument=world.instrument,
        start=tomorrow_9,
        end=tomorrow_9 + dt.timedelta(hours=1),
    )
    english = icalendar.Calendar.from_ical(client.get(f"/calendar/{world.researcher.calendar_token}.ics").content)
    assert str(english.walk("VEVENT")[0]["location"]) == "Test light source — BL1 Diffraction beamline (Shanghai)"
    world.researcher.language = "zh-hans"
    world.researcher.save()
    chinese = icalendar.Calendar.from_ical(client.get(f"/calendar/{world.researcher.calendar_token}.ics").content)
    event = chinese.walk("VEVENT")[0]
    assert str(event["location"]) == "测试光源 — BL1 衍射线站 (上海)"
    assert str(event["description"]).startswith("BL1 衍射线站 (FAC BL1)")


def test_seeding_again_keeps_what_a_facility_filed_since(seeded):
    filed = InstrumentRegistration.objects.get(instrument__facility__code="SSRF", instrument__code="BL14W1")
    filed.registry_number, filed.original_value, filed.illustrative = "31000000SSRF14", Decimal("41234567.00"), ""
    filed.save()
    call_command("seed_catalog", verbosity=0)
    filed.refresh_from_db()
    assert (filed.registry_number, filed.original_value, filed.illustrative) == (
        "31000000SSRF14",
        Decimal("41234567.00"),
        "",
    )
