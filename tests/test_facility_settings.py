"""Managers set everything else about their facility without the Django admin (issue 16, item 9): weekly
hours, qualifications with an expiry, rates per user class, co-building partners' time shares and charge
policies, from the API and the console. Every change is audited under the manager's name; another
facility's manager, a researcher and finance are refused."""

import datetime as dt
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import ChargePolicy
from facilities.models import Instrument, OperatingHours, Qualification, RateCard, TimeShare
from facilities.selectors import is_qualified

from .factories.facilities import FacilityFactory, InstrumentFactory, UserFactory, member


@pytest.fixture
def other_manager(world):
    user = UserFactory(username="else-mgr")
    member(user, world.zju, "facility_manager", [FacilityFactory(code="ELSE")])
    return user


def last_entry(obj):
    return LogEntry.objects.get_for_object(obj).order_by("-pk").first()


def hours_url(world):
    return "/api/v1/facilities/FAC/hours/"


def inst_url(world, what):
    return f"/api/v1/instruments/{world.instrument.pk}/{what}/"


# --- Weekly hours ----------------------------------------------------------------------------------------


def test_manager_sets_weekly_hours_over_the_api(world):
    c = world.client(world.manager)
    v0 = Instrument.objects.get(pk=world.instrument.pk).availability_version
    r = c.post(hours_url(world), {"weekday": 0, "opens": "08:00", "closes": "20:00"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json() == {
        "id": r.json()["id"],
        "facility": "FAC",
        "instrument": None,
        "weekday": 0,
        "opens": "08:00",
        "closes": "20:00",
    }
    span = OperatingHours.objects.get(pk=r.json()["id"])
    assert last_entry(span).actor == world.manager
    assert last_entry(span).additional_data["institutions"] == [world.sari.pk]
    # The calendar changed: the instrument's version moved, so clients re-read it.
    assert Instrument.objects.get(pk=world.instrument.pk).availability_version == v0 + 1
    assert [h["weekday"] for h in c.get(hours_url(world)).json()] == [0]

    own = c.post(
        hours_url(world),
        {"weekday": 5, "opens": "09:00", "closes": "12:00", "instrument": world.instrument.pk},
        format="json",
    )
    assert own.status_code == 201 and own.json()["instrument"] == world.instrument.pk

    assert c.delete(f"/api/v1/hours/{span.pk}/").status_code == 204
    assert not OperatingHours.objects.filter(pk=span.pk).exists()
    assert LogEntry.objects.filter(object_pk=str(span.pk), action=LogEntry.Action.DELETE).get().actor == world.manager


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekday": 0, "opens": "20:00", "closes": "08:00"}, "closes"),
        ({"weekday": 7, "opens": "08:00", "closes": "20:00"}, "weekday"),
        ({"weekday": 0, "opens": "8 o'clock", "closes": "20:00"}, "opens"),
        ({"weekday": 0, "opens": "09:00", "closes": "10:00"}, "opens"),  # overlaps the span below
        ({"weekday": 0, "opens": "08:00", "closes": "20:00", "instrument": 10**9}, "instrument"),
    ],
)
def test_bad_hours_are_refused_in_words(world, body, field):
    c = world.client(world.manager)
    assert (
        c.post(hours_url(world), {"weekday": 0, "opens": "08:00", "closes": "12:00"}, format="json").status_code == 201
    )
    r = c.post(hours_url(world), body, format="json")
    assert r.status_code == 400 and field in r.json(), r.json()
    assert OperatingHours.objects.count() == 1


def test_another_instruments_hours_cannot_be_set_through_this_facility(world, other_manager):
    elsewhere = InstrumentFactory(facility=FacilityFactory(code="OTHER"), code="X1")
    r = world.client(world.manager).post(
        hours_url(world), {"weekday": 0, "opens": "08:00", "closes": "20:00", "instrument": elsewhere.pk}, format="json"
    )
    assert r.status_code == 400 and "instrument" in r.json()


# --- Qualifications with an expiry -----------------------------------------------------------------------


def test_a_qualification_with_an_expiry_lapses(world):
    c = world.client(world.manager)
    last_day = timezone.localdate() + dt.timedelta(days=30)
    r = c.post(
        inst_url(world, "qualifications"), {"username": "res", "expires_on": last_day.isoformat()}, format="json"
    )
    assert r.status_code == 201, r.json()
    # It lapses at the local midnight after its last day.
    assert r.json()["expires_at"] == f"{last_day + dt.timedelta(days=1)}T00:00:00+08:00"
    assert r.json()["in_force"] is True
    q = Qualification.objects.get(user=world.researcher, instrument=world.instrument)
    assert last_entry(q).actor == world.manager
    assert is_qualified(user=world.researcher, instrument=world.instrument)
    listed = c.get(inst_url(world, "qualifications")).json()
    assert [(x["username"], x["in_force"]) for x in listed] == [("res", True)]

    # Granting again with another last day renews the same qualification (a change in the audit trail).
    later = last_day + dt.timedelta(days=365)
    again = c.post(
        inst_url(world, "qualifications"), {"username": "res", "expires_on": later.isoformat()}, format="json"
    )
    assert again.status_code == 201 and again.json()["expires_at"].startswith(str(later + dt.timedelta(days=1)))
    assert Qualification.objects.filter(user=world.researcher, instrument=world.instrument).count() == 1
    assert "expires_at" in last_entry(q).changes_dict

    Qualification.objects.filter(pk=q.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert not is_qualified(user=world.researcher, instrument=world.instrument)
    assert c.get(inst_url(world, "qualifications")).json()[0]["in_force"] is False


def test_an_expiry_in_the_past_or_not_a_day_is_refused(world):
    c = world.client(world.manager)
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    r = c.post(inst_url(world, "qualifications"), {"username": "res", "expires_on": past}, format="json")
    assert r.status_code == 400 and "in the past" in str(r.json())
    r = c.post(inst_url(world, "qualifications"), {"username": "res", "expires_on": "soon"}, format="json")
    assert r.status_code == 400 and "expires_on" in r.json()
    assert not Qualification.objects.exists()


def test_an_expired_qualification_no_longer_lets_its_holder_book(world, tomorrow_9):
    Instrument.objects.filter(pk=world.instrument.pk).update(requires_qualification=True)
    Qualification.objects.create(
        user=world.researcher, instrument=world.instrument, expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    body = {
        "instrument": world.instrument.pk,
        "start": tomorrow_9.isoformat(),
        "end": (tomorrow_9 + dt.timedelta(hours=1)).isoformat(),
    }
    r = world.client(world.researcher).post("/api/v1/bookings/", body, format="json")
    assert r.status_code == 400 and "Qualification" in str(r.json())


# --- Rates and time shares -------------------------------------------------------------------------------


def test_manager_publishes_changes_and_withdraws_rates(world):
    c = world.client(world.manager)
    r = c.put(inst_url(world, "rates"), {"user_class": "industry", "hourly_rate": "1200.50"}, format="json")
    assert r.status_code == 200 and r.json() == {"user_class": "industry", "hourly_rate": "1200.50"}
    card = RateCard.objects.get(instrument=world.instrument, user_class="industry")
    assert card.hourly_rate == Decimal("1200.50") and last_entry(card).actor == world.manager
    c.put(inst_url(world, "rates"), {"user_class": "industry", "hourly_rate": "1300"}, format="json")
    assert RateCard.objects.get(pk=card.pk).hourly_rate == Decimal("1300.00")
    assert last_entry(card).changes_dict["hourly_rate"] == ["1200.50", "1300.00"]
    assert c.get(inst_url(world, "rates")).json() == [{"user_class": "industry", "hourly_rate": "1300.00"}]
    assert c.delete(inst_url(world, "rates") + "?user_class=industry").status_code == 204
    assert not RateCard.objects.exists()
    assert c.delete(inst_url(world, "rates") + "?user_class=industry").status_code == 404
    assert c.delete(inst_url(world, "rates") + "?user_class=friends").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"user_class": "industry", "hourly_rate": "-1"},
        {"user_class": "industry", "hourly_rate": "1.005"},
        {"user_class": "industry", "hourly_rate": "lots"},
        {"user_class": "friends", "hourly_rate": "10"},
        {"user_class": "industry"},
    ],
)
def test_bad_rates_are_refused(world, body):
    r = world.client(world.manager).put(inst_url(world, "rates"), body, format="json")
    assert r.status_code == 400, r.json()
    assert not RateCard.objects.exists()


def test_manager_sets_partner_time_shares_within_100_percent(world):
    c = world.client(world.manager)
    r = c.put(inst_url(world, "time-shares"), {"institution": "ZJU", "percent": "35"}, format="json")
    assert r.status_code == 200 and r.json() == {"institution": "ZJU", "percent": "35.00"}
    share = TimeShare.objects.get(instrument=world.instrument, institution=world.zju)
    assert last_entry(share).actor == world.manager
    assert set(last_entry(share).additional_data["institutions"]) == {world.sari.pk, world.zju.pk}
    too_much = c.put(inst_url(world, "time-shares"), {"institution": "USTC", "percent": "70"}, format="json")
    assert too_much.status_code == 400 and "65" in str(too_much.json())
    assert (
        c.put(inst_url(world, "time-shares"), {"institution": "USTC", "percent": "65"}, format="json").status_code
        == 200
    )
    assert (
        c.put(inst_url(world, "time-shares"), {"institution": "NOPE", "percent": "5"}, format="json").status_code == 400
    )
    assert [s["institution"] for s in c.get(inst_url(world, "time-shares")).json()] == ["USTC", "ZJU"]
    assert c.delete(inst_url(world, "time-shares") + "?institution=ZJU").status_code == 204
    assert c.delete(inst_url(world, "time-shares") + "?institution=ZJU").status_code == 404
    assert list(TimeShare.objects.values_list("institution__code", flat=True)) == ["USTC"]


# --- Charge policies -------------------------------------------------------------------------------------


def test_manager_sets_the_charge_policy(world):
    c = world.client(world.manager)
    url = inst_url(world, "charge-policy")
    assert c.get(url).json()["billing_model"] == "booked"  # the defaults, before any change
    r = c.patch(url, {"billing_model": "used_min", "minimum_minutes": 30, "late_cancel_percent": "25"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["billing_model"] == "used_min" and r.json()["late_cancel_percent"] == "25.00"
    policy = ChargePolicy.objects.get(instrument=world.instrument)
    assert policy.minimum_minutes == 30 and last_entry(policy).actor == world.manager
    for bad in ({"no_show_percent": "120"}, {"billing_model": "whim"}, {"minimum_charge": "-5"}, {"currency": "USD"}):
        got = c.patch(url, bad, format="json")
        assert got.status_code == 400 and next(iter(bad)) in got.json(), got.json()
    assert ChargePolicy.objects.get(pk=policy.pk).no_show_percent == Decimal("100.00")


# --- Who may not ---------------------------------------------------------------------------------------


def writes(world):
    i = world.instrument.pk
    return [
        ("post", "/api/v1/facilities/FAC/hours/", {"weekday": 0, "opens": "08:00", "closes": "20:00"}),
        ("get", "/api/v1/facilities/FAC/hours/", None),
        ("post", f"/api/v1/instruments/{i}/qualifications/", {"username": "res"}),
        ("get", f"/api/v1/instruments/{i}/qualifications/", None),
        ("put", f"/api/v1/instruments/{i}/rates/", {"user_class": "industry", "hourly_rate": "1"}),
        ("get", f"/api/v1/instruments/{i}/rates/", None),
        ("delete", f"/api/v1/instruments/{i}/rates/?user_class=industry", None),
        ("put", f"/api/v1/instruments/{i}/time-shares/", {"institution": "ZJU", "percent": "10"}),
        ("get", f"/api/v1/instruments/{i}/time-shares/", None),
        ("delete", f"/api/v1/instruments/{i}/time-shares/?institution=ZJU", None),
        ("patch", f"/api/v1/instruments/{i}/charge-policy/", {"billing_model": "actual"}),
        ("get", f"/api/v1/instruments/{i}/charge-policy/", None),
    ]


def test_nobody_else_may_read_or_change_a_facilitys_settings(world, other_manager):
    RateCard.objects.create(instrument=world.instrument, user_class="industry", hourly_rate=Decimal("5"))
    TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent=Decimal("10"))
    span = OperatingHours.objects.create(facility=world.facility, weekday=1, opens=dt.time(8), closes=dt.time(9))
    for user in (other_manager, world.researcher, world.finance, world.outsider):
        for method, url, body in writes(world):
            got = getattr(world.client(user), method)(url, body, format="json")
            assert got.status_code == 403, (user, method, url, got.status_code)
        assert world.client(user).delete(f"/api/v1/hours/{span.pk}/").status_code == 403
    for method, url, body in writes(world):
        assert getattr(world.client(None), method)(url, body, format="json").status_code in (401, 403)
    assert OperatingHours.objects.count() == 1 and not Qualification.objects.exists()
    assert RateCard.objects.get().hourly_rate == Decimal("5") and TimeShare.objects.count() == 1
    assert not ChargePolicy.objects.exists()
    assert world.client(world.manager).delete("/api/v1/hours/999999/").status_code == 404
    assert world.client(world.manager).get("/api/v1/instruments/999999/charge-policy/").status_code == 404


def test_a_platform_admin_may(world):
    r = world.client(world.admin).put(
        inst_url(world, "rates"), {"user_class": "internal", "hourly_rate": "0"}, format="json"
    )
    assert r.status_code == 200


def test_the_endpoints_are_in_the_schema(world):
    schema = world.client(world.admin).get("/api/v1/schema/").content.decode()
    for path in (
        "/api/v1/facilities/{code}/hours/",
        "/api/v1/hours/{id}/",
        "/api/v1/instruments/{id}/rates/",
        "/api/v1/instruments/{id}/time-shares/",
        "/api/v1/instruments/{id}/charge-policy/",
    ):
        assert path in schema


# --- The console ------------------------------------------------------------------------------------------


def browser(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def page_urls(world):
    i = world.instrument.pk
    return {
        "hours": reverse("frontend:facility_hours", args=["FAC"]),
        "pricing": reverse("frontend:instrument_pricing", args=["FAC", i]),
        "rate": reverse("frontend:rate_save", args=["FAC", i]),
        "rate_withdraw": reverse("frontend:rate_withdraw", args=["FAC", i, "industry"]),
        "policy": reverse("frontend:policy_save", args=["FAC", i]),
        "share": reverse("frontend:share_save", args=["FAC", i]),
        "share_withdraw": reverse("frontend:share_withdraw", args=["FAC", i, world.zju.pk]),
        "qualify": reverse("frontend:qualification", args=["FAC", "grant"]),
    }


def policy_form(**changes):
    data = {
        "billing_model": "booked",
        "minimum_charge": "0",
        "minimum_minutes": "0",
        "no_show_percent": "100",
        "late_cancel_hours": "24",
        "late_cancel_percent": "50",
    }
    data.update(changes)
    return {f"policy-{k}": v for k, v in data.items()}


def test_manager_sets_hours_on_the_console(world):
    c = browser(world.manager)
    url = page_urls(world)["hours"]
    assert "open around the clock" in c.get(url).content.decode()
    r = c.post(url, {"instrument": "", "weekday": "2", "opens": "08:30", "closes": "17:00"}, follow=True)
    assert "The opening hours are saved" in r.content.decode()
    span = OperatingHours.objects.get()
    assert (span.weekday, span.opens, span.closes, span.instrument) == (2, dt.time(8, 30), dt.time(17), None)
    assert last_entry(span).actor == world.manager
    bad = c.post(url, {"instrument": "", "weekday": "2", "opens": "12:00", "closes": "13:00"})
    assert bad.status_code == 400 and "overlaps" in bad.content.decode()
    backwards = c.post(
        url, {"instrument": str(world.instrument.pk), "weekday": "2", "opens": "13:00", "closes": "12:00"}
    )
    assert backwards.status_code == 400 and "Closing time must be after opening time" in backwards.content.decode()
    c.post(reverse("frontend:facility_hours_remove", args=["FAC", span.pk]))
    assert not OperatingHours.objects.exists()


def test_manager_sets_rates_policy_and_shares_on_the_console(world):
    c = browser(world.manager)
    urls = page_urls(world)
    assert "No published rates" in c.get(urls["pricing"]).content.decode()

    r = c.post(urls["rate"], {"rate-user_class": "industry", "rate-hourly_rate": "880"}, follow=True)
    assert "880.00 CNY an hour" in r.content.decode()
    card = RateCard.objects.get()
    assert card.hourly_rate == Decimal("880") and last_entry(card).actor == world.manager
    assert c.post(urls["rate"], {"rate-user_class": "industry", "rate-hourly_rate": "-3"}).status_code == 400

    r = c.post(urls["policy"], policy_form(billing_model="actual", late_cancel_hours="48"), follow=True)
    assert "The charge policy of BL1 is saved." in r.content.decode()
    policy = ChargePolicy.objects.get()
    assert policy.billing_model == "actual" and policy.late_cancel_hours == 48
    assert last_entry(policy).actor == world.manager
    bad = c.post(urls["policy"], policy_form(no_show_percent="150"))
    assert bad.status_code == 400 and ChargePolicy.objects.get().no_show_percent == Decimal("100")

    r = c.post(urls["share"], {"share-institution": str(world.zju.pk), "share-percent": "40"}, follow=True)
    assert "ZJU keeps 40" in r.content.decode()
    assert TimeShare.objects.get().percent == Decimal("40")
    over = c.post(urls["share"], {"share-institution": str(world.ustc.pk), "share-percent": "61"})
    assert over.status_code == 400 and "at most 60" in over.content.decode()

    page = c.get(urls["pricing"]).content.decode()
    assert "880.00" in page and "ZJU" in page
    c.post(urls["share_withdraw"])
    c.post(urls["rate_withdraw"])
    assert not TimeShare.objects.exists() and not RateCard.objects.exists()


def test_manager_grants_a_qualification_with_an_expiry_on_the_console(world):
    c = browser(world.manager)
    until = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    data = {"qual-username": "res", "qual-instrument": str(world.instrument.pk), "qual-until": until}
    r = c.post(page_urls(world)["qualify"], data, follow=True)
    assert f"res is qualified on BL1 until {until}." in r.content.decode()
    q = Qualification.objects.get()
    assert (
        timezone.localtime(q.expires_at)
        .isoformat()
        .startswith((timezone.localdate() + dt.timedelta(days=91)).isoformat() + "T00:00:00+08:00")
    )
    assert until in c.get(reverse("frontend:console_facility", args=["FAC"])).content.decode()
    yesterday = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    bad = c.post(page_urls(world)["qualify"], {**data, "qual-until": yesterday})
    assert bad.status_code == 400 and "cannot be in the past" in bad.content.decode()


def test_nobody_else_may_open_or_use_the_console_pages(world, other_manager):
    urls = page_urls(world)
    for name, url in urls.items():
        get_or_post = "get" if name in ("hours", "pricing") else "post"
        assert getattr(browser(other_manager), get_or_post)(url).status_code == 404, name
        assert getattr(browser(world.researcher), get_or_post)(url).status_code == 403, name
        assert getattr(browser(), get_or_post)(url).status_code == 302, name
    assert (
        browser(other_manager).post(urls["hours"], {"weekday": "1", "opens": "08:00", "closes": "09:00"}).status_code
        == 404
    )
    elsewhere = InstrumentFactory(facility=FacilityFactory(code="OTHER"), code="X1")
    # An instrument of another facility cannot be reached through one the manager does manage.
    assert (
        browser(world.manager).get(reverse("frontend:instrument_pricing", args=["FAC", elsewhere.pk])).status_code
        == 404
    )
    assert not OperatingHours.objects.exists() and not RateCard.objects.exists()


@pytest.mark.parametrize("n", [1, 8])
def test_the_console_pages_stay_in_constant_queries(world, n, django_assert_max_num_queries):
    from facilities.models import Institution

    for k in range(n):
        inst = InstrumentFactory(facility=world.facility, code=f"G{k}")
        OperatingHours.objects.create(
            facility=world.facility, instrument=inst, weekday=k % 7, opens=dt.time(8), closes=dt.time(9)
        )
        partner = Institution.objects.create(code=f"P{k}", name=f"Partner {k}", province="anhui", city="Hefei")
        TimeShare.objects.create(instrument=world.instrument, institution=partner, percent=Decimal("5"))
    for cls in ("internal", "industry"):
        RateCard.objects.create(instrument=world.instrument, user_class=cls, hourly_rate=Decimal("10"))
    c = browser(world.manager)
    with django_assert_max_num_queries(12):
        assert c.get(page_urls(world)["hours"]).status_code == 200
    with django_assert_max_num_queries(12):
        assert c.get(page_urls(world)["pricing"]).status_code == 200


def test_the_console_pages_read_in_chinese(world):
    c = browser(world.manager)
    c.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/console/"})
    assert "开放时间" in c.get(page_urls(world)["hours"]).content.decode()
    html = c.get(page_urls(world)["pricing"]).content.decode()
    assert "收费标准" in html and "计费规则" in html and "共建单位" in html


def test_new_hours_flag_a_held_booking_they_close(world, tomorrow_9, tasks_in_process):
    """A held booking outside the new hours is listed for the manager to keep, move or cancel, as after a
    closure (booking.services.flags)."""
    from django.test import TestCase

    from booking.models import CalendarFlag
    from booking.services import booking_request

    b = booking_request(
        requester=world.researcher,
        instrument=world.instrument,
        start=tomorrow_9,
        end=tomorrow_9 + dt.timedelta(hours=1),
    )
    weekday = timezone.localtime(tomorrow_9).weekday()
    with TestCase.captureOnCommitCallbacks(execute=True):
        r = world.client(world.manager).post(
            hours_url(world), {"weekday": weekday, "opens": "13:00", "closes": "18:00"}, format="json"
        )
    assert r.status_code == 201
    flag = CalendarFlag.objects.get(booking=b)
    assert flag.status == CalendarFlag.Status.OPEN and flag.cause == "hours_changed"
