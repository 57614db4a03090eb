"""Finding instruments, not only facilities (docs/frontend.md#finding-instruments): words in English and
Chinese find the instruments of the seeded catalog through the API and the catalog page; technique,
province and "bookable by me" narrow them; each shows its next free slot; the page's queries stay fixed.

"Bookable by me" is the booking layer's one rule of who may book (booking.rules.bookable_by): it agrees
with what a booking request says, case by case. The next free slot is the joint search's valid starts."""

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.rules import bookable_by
from booking.search import joint_windows, next_free_starts
from booking.services import booking_request
from facilities.models import Closure, Facility, Instrument, Qualification
from facilities.selectors import instrument_list
from tests.factories.facilities import FacilityFactory, InstrumentFactory
from usage.models import Suspension

H = dt.timedelta(hours=1)

WORDS = {
    "PPMS": {"NJU-SSM/PPMS-1"},
    "电镜": {
        "NFPS/CRYOEM-1",
        "NFPS/CRYOEM-2",
        "SJTU-IAC/TEM-200",
        "SJTU-IAC/FESEM-1",
        "USTC-PCSEC/TEM-DCOR",
        "NJU-SSM/TEM-1",
        "ZJU-LIP/FESEM-1",
    },
    "冷冻电镜": {"NFPS/CRYOEM-1", "NFPS/CRYOEM-2"},
    "cryo-EM": {"NFPS/CRYOEM-1", "NFPS/CRYOEM-2"},
    "电镜 杭州": {"ZJU-LIP/FESEM-1"},  # words narrow each other; a city in Chinese
}


@pytest.fixture
def seeded(db):
    call_command("seed_catalog", verbosity=0)
    call_command("seed_demo_people", verbosity=0)


def keys(items) -> list[str]:
    return [f"{i['facility']}/{i['code']}" for i in items]


def api_search(client, query: str) -> list[str]:
    body = client.get("/api/v1/instruments/", {"page_size": 100, **query}).json()
    assert body["count"] <= 100
    return keys(body["results"])


def test_words_in_english_and_chinese_find_the_instruments(seeded):
    client = Client()
    for words, expected in WORDS.items():
        assert set(api_search(client, {"q": words})) == expected, words
    # Broader words find at least every electron microscope, and the strongest matches come first.
    electron_microscopes = WORDS["电镜"]
    assert set(api_search(client, {"q": "electron microscope"})) >= electron_microscopes
    # A word is a substring: "TEM" is in "temperature" too, and "Nanjing" keeps it to NJU's instruments.
    tem_nanjing = api_search(client, {"q": "TEM Nanjing"})
    assert "NJU-SSM/TEM-1" in tem_nanjing and {k.split("/")[0] for k in tem_nanjing} == {"NJU-SSM"}
    sem = api_search(client, {"q": "SEM"})
    assert sem[:2] == ["SJTU-IAC/FESEM-1", "ZJU-LIP/FESEM-1"]  # named SEM before a description saying "semi…"


def test_the_catalog_page_lists_the_instruments_with_facilities(seeded):
    page = Client().get(reverse("frontend:catalog"), {"q": "电镜"}).content.decode()
    assert "7 instruments" in page
    for code in ("CRYOEM-1", "FESEM-1", "TEM-DCOR", "TEM-1"):
        assert f"<strong>{code}</strong>" in page
    # The facilities that have them are found too, although their own names say nothing of microscopes.
    for code in ("NFPS", "SJTU-IAC", "USTC-PCSEC", "NJU-SSM", "ZJU-LIP"):
        assert f"<strong>{code}</strong> —" in page
    assert "<strong>SSRF</strong>" not in page


def test_the_catalog_speaks_the_readers_language(seeded):
    zh = Client(headers={"accept-language": "zh-hans"})
    page = zh.get(reverse("frontend:catalog"), {"q": "electron microscope", "province": "zhejiang"}).content.decode()
    assert "场发射扫描电子显微镜" in page and "杭州" in page
    assert "Field-emission scanning electron microscope" not in page
    # The filters name hosts and cities in Chinese too.
    assert "ZJU — 浙江大学" in page and ">杭州</option>" in page
    facility = zh.get(reverse("frontend:facility", args=["SSRF"])).content.decode()
    assert "线站实验站的班次机时" in facility and "beamtime shifts" not in facility
    fesem = Instrument.objects.get(facility__code="ZJU-LIP", code="FESEM-1")
    instrument = zh.get(reverse("frontend:instrument", args=[fesem.pk])).content.decode()
    assert "杭州" in instrument and "Hangzhou" not in instrument
    english = Client().get(reverse("frontend:instrument", args=[fesem.pk])).content.decode()
    assert "Hangzhou" in english


def test_filters_technique_and_province(seeded):
    client = Client()
    microscopes_in_anhui = api_search(client, {"category": "microscope", "province": "anhui"})
    assert set(microscopes_in_anhui) == {"USTC-PCSEC/TEM-DCOR", "SHMFF/SMA"}
    page = client.get(reverse("frontend:catalog"), {"technique": "centrifuge"}).content.decode()
    assert "2 instruments" in page and "CHIEF1300" in page and "1 facility" in page


@pytest.mark.parametrize(
    "query,field",
    [({"province": "guangdong"}, "province"), ({"bookable": "yes"}, "bookable"), ({"category": "zoo"}, "category")],
)
def test_bad_filter_values_are_400_in_words(db, query, field):
    r = Client().get("/api/v1/instruments/", query)
    assert r.status_code == 400
    assert "allowed values are" in r.json()[field][0]


def test_a_long_query_is_a_400_on_the_api_and_ignored_on_the_page(db):
    assert Client().get("/api/v1/instruments/", {"q": "x" * 101}).status_code == 400
    assert Client().get(reverse("frontend:catalog"), {"q": "x" * 101}).status_code == 200


# --- "Bookable by me": one rule, the booking layer's ---------------------------------------------------------


def booking_allowed(user, instrument, start) -> bool:
    try:
        booking_request(requester=user, instrument=instrument, start=start, end=start + H)
    except (ValidationError, PermissionDenied):
        return False
    return True


def test_bookable_by_agrees_with_a_booking_request(world, tomorrow_9):
    needs_training = InstrumentFactory(facility=world.facility, code="Q1", requires_qualification=True)
    trained = InstrumentFactory(facility=world.facility, code="Q2", requires_qualification=True)
    Qualification.objects.create(user=world.researcher, instrument=trained)
    retired = InstrumentFactory(facility=world.facility, code="OLD", active=False)
    building = FacilityFactory(code="NEW", host=world.sari, status=Facility.Status.UNDER_CONSTRUCTION)
    not_yet = InstrumentFactory(facility=building, code="N1")
    suspended_at = FacilityFactory(code="STRICT", host=world.sari)
    strict = InstrumentFactory(facility=suspended_at, code="S1")
    Suspension.objects.create(
        user=world.researcher,
        facility=suspended_at,
        starts_at=timezone.now() - H,
        ends_at=timezone.now() + 30 * 24 * H,
        reason="three no-shows",
    )
    everything = [world.instrument, needs_training, trained, retired, not_yet, strict]
    mine = bookable_by(requester=world.researcher, instruments=everything)
    assert mine == {world.instrument.pk, trained.pk}
    for k, instrument in enumerate(everything):
        assert booking_allowed(world.researcher, instrument, tomorrow_9 + 2 * k * H) == (instrument.pk in mine)
    # Who has no researcher role may book nothing; neither may an anonymous visitor.
    assert bookable_by(requester=world.finance, instruments=everything) == set()
    assert not booking_allowed(world.finance, world.instrument, tomorrow_9 + 20 * H)
    from django.contrib.auth.models import AnonymousUser

    assert bookable_by(requester=AnonymousUser(), instruments=everything) == set()


def test_bookable_by_costs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    instruments = [InstrumentFactory(facility=world.facility, requires_qualification=bool(k % 2)) for k in range(15)]
    with django_assert_max_num_queries(3):  # researcher role, qualifications, suspensions
        bookable_by(requester=world.researcher, instruments=instruments)


def test_the_api_and_the_page_filter_what_i_may_book(world, tomorrow_9):
    InstrumentFactory(facility=world.facility, code="TRAINED-ONLY", requires_qualification=True)
    anonymous = world.client(None).get("/api/v1/instruments/?bookable=true").json()
    assert anonymous["count"] == 0
    mine = world.client(world.researcher).get("/api/v1/instruments/?bookable=true").json()
    assert [i["code"] for i in mine["results"]] == ["BL1"]
    everyone = world.client(world.researcher).get("/api/v1/instruments/?bookable=false").json()
    assert {i["code"] for i in everyone["results"]} == {"BL1", "TRAINED-ONLY"}
    c = Client()
    c.force_login(world.researcher)
    page = c.get(reverse("frontend:catalog"), {"bookable": "on"}).content.decode()
    assert "<strong>BL1</strong>" in page and "TRAINED-ONLY" not in page and "You may book" in page
    # Anonymous visitors are not offered the filter; given anyway, it is ignored, not an error.
    anon = Client().get(reverse("frontend:catalog"), {"bookable": "on"})
    assert anon.status_code == 200 and 'name="bookable"' not in anon.content.decode()


# --- The next free slot: the joint search's valid starts, for one instrument ---------------------------------


def test_next_free_slot_skips_bookings_buffers_and_closures(world, tomorrow_9):
    instrument = InstrumentFactory(facility=world.facility, code="NF", buffer_minutes=30)
    now = tomorrow_9 - dt.timedelta(minutes=30)  # 08:30: the first start on the unit is 09:00
    assert next_free_starts([instrument], now=now)[instrument.pk] == tomorrow_9
    booking_request(requester=world.researcher, instrument=instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H)
    # 11:00 is within the changeover after the booking, so 12:00 on the hour unit.
    assert next_free_starts([instrument], now=now)[instrument.pk] == tomorrow_9 + 3 * H
    Closure.objects.create(
        facility=world.facility, instrument=instrument, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 5 * H
    )
    found = next_free_starts([instrument], now=now)[instrument.pk]
    assert found == tomorrow_9 + 5 * H
    # The same answer as the joint search's first window for this one instrument.
    windows = joint_windows(
        instruments=[instrument, world.instrument],
        duration_minutes=60,
        start=now,
        end=now + dt.timedelta(days=1),
        now=now,
    )
    assert windows[0][0] == found


def test_no_free_slot_within_the_window_or_when_not_open(world, tomorrow_9):
    full = InstrumentFactory(facility=world.facility, code="FULL")
    Closure.objects.create(
        facility=world.facility, instrument=full, start=tomorrow_9 - 48 * H, end=tomorrow_9 + 400 * H
    )
    retired = InstrumentFactory(facility=world.facility, code="GONE", active=False)
    found = next_free_starts([full, retired, world.instrument], now=tomorrow_9 - H)
    assert found[full.pk] is None and found[retired.pk] is None and found[world.instrument.pk] is not None


def test_the_page_shows_the_next_free_slot(world, tomorrow_9):
    page = Client().get(reverse("frontend:catalog"), {"q": "BL1"}).content.decode()
    row = page.split(f'id="instrument-{world.instrument.pk}"')[1].split("</tr>")[0]
    assert 'class="next-free"' in row and "<time datetime=" in row


@pytest.mark.parametrize("n", [1, 12])
@pytest.mark.parametrize("signed_in", [False, True])
def test_catalog_search_queries_do_not_grow(world, tomorrow_9, n, signed_in, django_assert_max_num_queries):
    for k in range(n):
        facility = FacilityFactory(code=f"GROW{k}", host=world.sari, city="Hangzhou", province="zhejiang")
        instrument = InstrumentFactory(facility=facility, code=f"SEM{k}", requires_qualification=bool(k % 2))
        Qualification.objects.create(user=world.outsider, instrument=instrument)
        booking_request(requester=world.outsider, instrument=instrument, start=tomorrow_9, end=tomorrow_9 + H)
    c = Client()
    if signed_in:
        c.force_login(world.researcher)
    url = reverse("frontend:catalog") + "?q=SEM&bookable=on" if signed_in else reverse("frontend:catalog") + "?q=SEM"
    # Hosts and cities of the filters, facilities, instruments, the map; the next free slots (weekly hours,
    # closures, bookings); signed in: the session and its user, the header's roles, and "bookable by me"
    # (researcher role, qualifications, suspensions).
    with django_assert_max_num_queries(14 if signed_in else 8):
        response = c.get(url)
    assert response.status_code == 200
    # Signed in with "I may book": the researcher is not qualified on every other one.
    assert response.content.decode().count('<td class="next-free">') == ((n + 1) // 2 if signed_in else n)


def test_the_selector_searches_every_word(world):
    InstrumentFactory(facility=world.facility, code="XRD-9", name="Powder diffractometer", keywords_zh="X射线衍射")
    assert [i.code for i in instrument_list(q="powder 衍射")] == ["XRD-9"]
    assert list(instrument_list(q="powder 电镜")) == []


def test_every_seeded_instrument_carries_technique_words_in_both_languages(seeded):
    han = re.compile(r"[\u4e00-\u9fff]")
    for i in Instrument.objects.select_related("facility"):
        assert i.keywords and han.search(i.keywords_zh), f"{i.facility.code}/{i.code}"
    for f in Facility.objects.exclude(booked_as=""):
        assert han.search(f.booked_as_zh), f.code
    body = Client().get("/api/v1/facilities/SHMFF/").json()
    assert body["booked_as_zh"] == "磁体机时" and body["instruments"][0]["keywords_zh"]


def test_names_and_account_titles_follow_the_readers_language_beyond_the_catalog(world):
    from facilities.models import ResearchGroup

    world.ustc.name_zh = "中国科学技术大学"
    world.ustc.save()
    world.researcher_account.title, world.researcher_account.title_zh = "Operando spectroscopy", "原位光谱研究"
    world.researcher_account.save()
    world.instrument.name, world.instrument.name_zh = "Beamline one", "一号线站"
    world.instrument.save()
    group = ResearchGroup.objects.create(name="Zhang lab", institution=world.ustc, leader=world.researcher)
    group.accounts.add(world.researcher_account)
    c = Client(headers={"accept-language": "zh-hans"})
    c.force_login(world.researcher)
    page = c.get(reverse("frontend:group", args=[group.pk])).content.decode()
    assert "原位光谱研究" in page and "中国科学技术大学" in page and "Operando spectroscopy" not in page
    use = c.get(reverse("frontend:use", args=[world.instrument.pk])).content.decode()
    assert "一号线站" in use and "Beamline one" not in use
    english = Client()
    english.force_login(world.researcher)
    assert "Operando spectroscopy" in english.get(reverse("frontend:group", args=[group.pk])).content.decode()
