"""The web pages: each persona lands where it should, sees what it may and nothing else, and every
refusal of a service is shown in words on the page."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking
from booking.services import booking_request
from facilities.models import Closure, Qualification
from tests.factories.facilities import FundingAccountFactory, RateCardFactory

H = dt.timedelta(hours=1)


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    "persona, landing",
    [
        (None, "frontend:catalog"),
        ("researcher", "frontend:dashboard"),
        ("manager", "frontend:console"),
        ("outsider", "frontend:dashboard"),
        ("admin", "frontend:console"),
    ],
)
def test_each_role_lands_on_its_home(world, persona, landing):
    user = getattr(world, persona) if persona else None
    response = client_for(user).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse(landing)


def test_login_sends_researcher_to_dashboard_and_explains_bad_password(world):
    c = Client()
    bad = c.post(reverse("frontend:login"), {"username": "res", "password": "wrong"})
    assert bad.status_code == 200
    assert "Unknown username or wrong password" in bad.content.decode()
    good = c.post(reverse("frontend:login"), {"username": "res", "password": "pw-123456"})
    assert good.status_code == 302 and good["Location"] == reverse("frontend:dashboard")


def test_logout_needs_post_with_csrf(world):
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.researcher)
    assert c.post(reverse("frontend:logout")).status_code == 403  # no CSRF token
    page = c.get(reverse("frontend:dashboard"))
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()


def test_catalog_filters_and_map(world):
    from tests.factories.facilities import FacilityFactory

    FacilityFactory(code="HZ1", name="Hangzhou Thing", province="zhejiang", city="Hangzhou", host=world.zju)
    c = client_for()
    page = c.get(reverse("frontend:catalog")).content.decode()
    assert "FAC" in page and "HZ1" in page
    assert "<svg" in page and 'href="?city=Hangzhou"' in page and 'href="?province=zhejiang"' in page
    only_zj = c.get(reverse("frontend:catalog"), {"province": "zhejiang"}).content.decode()
    assert "HZ1" in only_zj and ">FAC<" not in only_zj
    by_host = c.get(reverse("frontend:catalog"), {"host": "SARI"}).content.decode()
    assert "<strong>FAC</strong>" in by_host and "<strong>HZ1</strong>" not in by_host
    searched = c.get(reverse("frontend:catalog"), {"q": "hangzhou thing"}).content.decode()
    assert "<strong>HZ1</strong>" in searched and "<strong>FAC</strong>" not in searched
    # A bad filter value is ignored with the form's message, never a 500.
    assert c.get(reverse("frontend:catalog"), {"province": "mars"}).status_code == 200


def test_facility_page_lists_instruments_and_unknown_is_404(world):
    c = client_for()
    page = c.get(reverse("frontend:facility", args=["FAC"])).content.decode()
    assert world.instrument.code in page
    assert c.get(reverse("frontend:facility", args=["NOPE"])).status_code == 404


def test_instrument_page_shows_rules_calendar_and_busy_time(world, tomorrow_9):
    booking_request(requester=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H)
    page = (
        client_for()
        .get(reverse("frontend:instrument", args=[world.instrument.pk]), {"week": tomorrow_9.date().isoformat()})
        .content.decode()
    )
    assert 'id="week"' in page and "Booking unit" in page and "Longest booking" in page
    start_iso = timezone.localtime(tomorrow_9).isoformat()
    cell = page.split(f'data-start="{start_iso}"', 1)[1].split("</td>", 1)[0]
    assert "Booked" in cell
    # Nobody's name or purpose shows on the public calendar.
    assert "out" not in cell
    assert "Sign in to book" in page


def test_clicked_cell_prefills_form_with_estimate(world, tomorrow_9):
    RateCardFactory(instrument=world.instrument, user_class="external_academic", hourly_rate="250.00")
    c = client_for(world.researcher)
    fragment = c.get(
        reverse("frontend:book", args=[world.instrument.pk]),
        {"start": local_input(tomorrow_9), "end": local_input(tomorrow_9 + 2 * H)},
    ).content.decode()
    assert f'value="{local_input(tomorrow_9)}"' in fragment
    assert "¥250.00 per hour" in fragment and "¥500.00" in fragment
    assert "USTC-G1: 100% = ¥500.00" in fragment


def test_estimate_splits_add_up_by_largest_remainder(world, tomorrow_9):
    RateCardFactory(instrument=world.instrument, user_class="external_academic", hourly_rate="100.00")
    second = FundingAccountFactory(code="USTC-G2", institution=world.ustc, principal_investigator=world.researcher)
    third = FundingAccountFactory(code="USTC-G3", institution=world.ustc, principal_investigator=world.researcher)
    c = client_for(world.researcher)
    page = c.get(
        reverse("frontend:estimate", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9),
            "end": local_input(tomorrow_9 + H),
            f"split_{world.researcher_account.pk}": "33.33",
            f"split_{second.pk}": "33.33",
            f"split_{third.pk}": "33.34",
        },
    ).content.decode()
    assert "USTC-G1: 33.33% = ¥33.33" in page and "USTC-G3: 33.34% = ¥33.34" in page


def test_booking_from_the_page(world, tomorrow_9):
    c = client_for(world.researcher)
    response = c.post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9),
            "end": local_input(tomorrow_9 + 2 * H),
            "purpose": "XAS",
            f"split_{world.researcher_account.pk}": "100",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    booking = Booking.objects.get(requester=world.researcher)
    assert booking.status == Booking.Status.APPROVED and booking.start == tomorrow_9
    assert f"Booking #{booking.pk} is confirmed" in response.content.decode()


def test_booking_needing_approval_says_so(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    c = client_for(world.researcher)
    body = c.post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9),
            "end": local_input(tomorrow_9 + H),
            f"split_{world.researcher_account.pk}": "100",
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "waits for a facility manager" in body
    assert Booking.objects.get().status == Booking.Status.REQUESTED


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"end_hours": 0}, "The end must be after the start."),
        ({"end_hours": 48}, "Maximum duration"),
        ({"start": "09:30"}, "Booking unit"),
        ({"percent": "60"}, "must add up to exactly 100"),
        ({"percent": ""}, "Give at least one account a share"),
        ({"start_text": "tomorrow"}, "Enter a valid date/time."),
    ],
)
def test_rule_violations_are_shown_in_words_and_write_nothing(world, tomorrow_9, change, expected):
    start = tomorrow_9
    if "start" in change:
        h, m = map(int, change["start"].split(":"))
        start = tomorrow_9.replace(hour=h, minute=m)
    end = start + dt.timedelta(hours=change.get("end_hours", 1))
    data = {
        "start": change.get("start_text", local_input(start)),
        "end": local_input(end),
        f"split_{world.researcher_account.pk}": change.get("percent", "100"),
    }
    response = client_for(world.researcher).post(reverse("frontend:book", args=[world.instrument.pk]), data)
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not Booking.objects.exists()


def test_taken_slot_is_a_conflict_in_words(world, tomorrow_9):
    booking_request(requester=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H)
    response = client_for(world.researcher).post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9 + H),
            "end": local_input(tomorrow_9 + 3 * H),
            f"split_{world.researcher_account.pk}": "100",
        },
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "already held for part of that time" in body and "Held:" in body


def test_someone_elses_account_cannot_be_charged(world, tomorrow_9):
    # The form offers only the researcher's accounts; a forged field is ignored, so nothing pays: refused.
    response = client_for(world.researcher).post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9),
            "end": local_input(tomorrow_9 + H),
            f"split_{world.outsider_account.pk}": "100",
        },
    )
    assert response.status_code == 400 and not Booking.objects.exists()


def test_non_researcher_may_not_book(world, tomorrow_9):
    response = client_for(world.finance).post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9),
            "end": local_input(tomorrow_9 + H),
        },
    )
    assert response.status_code == 403
    assert "Only researchers may book" in response.content.decode()


def test_dashboard_lists_own_bookings_and_cancels(world, tomorrow_9):
    mine = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    theirs = booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H
    )
    c = client_for(world.researcher)
    page = c.get(reverse("frontend:dashboard")).content.decode()
    assert f'id="booking-{mine.pk}"' in page and f'id="booking-{theirs.pk}"' not in page
    assert f"/calendar/{world.researcher.calendar_token}.ics" in page
    response = c.post(reverse("frontend:cancel", args=[mine.pk]), follow=True)
    assert "is cancelled" in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == Booking.Status.CANCELLED
    again = c.post(reverse("frontend:cancel", args=[mine.pk]), follow=True).content.decode()
    assert "is cancelled and cannot be cancelled" in again


def test_you_may_not_cancel_someone_elses_booking(world, tomorrow_9):
    theirs = booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    response = client_for(world.researcher).post(reverse("frontend:cancel", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Booking.Status.APPROVED


@pytest.mark.parametrize(
    "persona, url_name",
    [
        ("finance", "frontend:dashboard"),
        ("researcher", "frontend:console"),
        ("finance", "frontend:console"),
    ],
)
def test_pages_for_other_roles_are_403_in_words(world, persona, url_name):
    response = client_for(getattr(world, persona)).get(reverse(url_name))
    assert response.status_code == 403
    assert "your account does not have that role" in response.content.decode()


def test_anonymous_is_sent_to_sign_in(world):
    response = client_for().get(reverse("frontend:console"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("frontend:login"))


@pytest.fixture
def requested(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    return booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H, purpose="EXAFS"
    )


def test_manager_sees_queue_and_approves(world, requested):
    c = client_for(world.manager)
    page = c.get(reverse("frontend:console")).content.decode()
    assert f'id="request-{requested.pk}"' in page and "EXAFS" in page
    done = c.post(
        reverse("frontend:decide", args=[requested.pk, "approve"]), {"reason": ""}, follow=True
    ).content.decode()
    assert f"Booking #{requested.pk} is approved." in done
    requested.refresh_from_db()
    assert requested.status == Booking.Status.APPROVED and requested.decided_by == world.manager


def test_reject_needs_a_reason(world, requested):
    c = client_for(world.manager)
    page = c.post(
        reverse("frontend:decide", args=[requested.pk, "reject"]), {"reason": ""}, follow=True
    ).content.decode()
    assert "Say why the request is rejected" in page
    requested.refresh_from_db()
    assert requested.status == Booking.Status.REQUESTED
    c.post(reverse("frontend:decide", args=[requested.pk, "reject"]), {"reason": "Beam down that week"})
    requested.refresh_from_db()
    assert requested.status == Booking.Status.REJECTED and requested.decision_reason == "Beam down that week"
    # Deciding twice is an illegal transition, said in words.
    again = c.post(reverse("frontend:decide", args=[requested.pk, "approve"]), follow=True).content.decode()
    assert "is rejected and cannot be approved" in again


def test_other_facilitys_manager_may_not_decide(world, requested):
    from facilities.models.tenants import Role
    from tests.factories.facilities import FacilityFactory, UserFactory, member

    other = UserFactory(username="othermgr")
    member(other, world.zju, Role.FACILITY_MANAGER, [FacilityFactory(code="ELSE", host=world.zju)])
    c = client_for(other)
    assert f'id="request-{requested.pk}"' not in c.get(reverse("frontend:console")).content.decode()
    assert c.post(reverse("frontend:decide", args=[requested.pk, "approve"])).status_code == 404
    assert c.get(reverse("frontend:console_facility", args=["FAC"])).status_code == 404
    requested.refresh_from_db()
    assert requested.status == Booking.Status.REQUESTED


def test_manager_records_completion_and_no_show(world, tomorrow_9):
    past = [
        booking_request(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9 + n * 2 * H,
            end=tomorrow_9 + (n * 2 + 1) * H,
        )
        for n in range(2)
    ]
    # Move them into the past, as time would.
    now = timezone.now()
    for n, b in enumerate(past):
        Booking.objects.filter(pk=b.pk).update(
            start=now - (5 - 2 * n) * H, end=now - (4 - 2 * n) * H, hold_end=now - (4 - 2 * n) * H
        )
    c = client_for(world.manager)
    page = c.get(reverse("frontend:console")).content.decode()
    for b in past:
        assert reverse("frontend:decide", args=[b.pk, "complete"]) in page
    c.post(reverse("frontend:decide", args=[past[0].pk, "complete"]), {"actual_start": "", "actual_end": ""})
    c.post(reverse("frontend:decide", args=[past[1].pk, "no-show"]), {"reason": ""})
    assert [Booking.objects.get(pk=b.pk).status for b in past] == [Booking.Status.COMPLETED, Booking.Status.NO_SHOW]


def test_closures_and_qualifications(world, tomorrow_9):
    c = client_for(world.manager)
    url = reverse("frontend:console_facility", args=["FAC"])
    assert c.get(url).status_code == 200
    bad = c.post(
        reverse("frontend:closure_create", args=["FAC"]),
        {
            "closure-start": local_input(tomorrow_9),
            "closure-end": local_input(tomorrow_9 - H),
            "closure-kind": "maintenance",
        },
    )
    assert bad.status_code == 400 and "must end after it starts" in bad.content.decode()
    ok = c.post(
        reverse("frontend:closure_create", args=["FAC"]),
        {
            "closure-instrument": str(world.instrument.pk),
            "closure-start": local_input(tomorrow_9),
            "closure-end": local_input(tomorrow_9 + 3 * H),
            "closure-kind": "maintenance",
            "closure-reason": "Cryo refill",
        },
    )
    assert ok.status_code == 302
    closure = Closure.objects.get()
    assert closure.instrument == world.instrument and closure.reason == "Cryo refill"
    cal = (
        client_for()
        .get(reverse("frontend:instrument", args=[world.instrument.pk]), {"week": tomorrow_9.date().isoformat()})
        .content.decode()
    )
    cell = cal.split(f'data-start="{timezone.localtime(tomorrow_9).isoformat()}"', 1)[1].split("</td>", 1)[0]
    assert "Closed" in cell
    c.post(reverse("frontend:closure_delete", args=["FAC", closure.pk]))
    assert not Closure.objects.exists()

    grant = c.post(
        reverse("frontend:qualification", args=["FAC", "grant"]),
        {"qual-username": "res", "qual-instrument": str(world.instrument.pk)},
    )
    assert grant.status_code == 302
    assert Qualification.objects.filter(user=world.researcher, revoked_at__isnull=True).exists()
    unknown = c.post(
        reverse("frontend:qualification", args=["FAC", "grant"]),
        {"qual-username": "ghost", "qual-instrument": str(world.instrument.pk)},
    )
    assert unknown.status_code == 400 and "Nobody has the username ghost" in unknown.content.decode()
    c.post(
        reverse("frontend:qualification", args=["FAC", "revoke"]),
        {"qual-username": "res", "qual-instrument": str(world.instrument.pk)},
    )
    assert not Qualification.objects.filter(revoked_at__isnull=True).exists()


def test_researcher_may_not_add_closures(world, tomorrow_9):
    response = client_for(world.researcher).post(
        reverse("frontend:closure_create", args=["FAC"]),
        {
            "closure-start": local_input(tomorrow_9),
            "closure-end": local_input(tomorrow_9 + H),
            "closure-kind": "maintenance",
        },
    )
    assert response.status_code == 403 and not Closure.objects.exists()


def test_chinese_interface_and_the_choice_is_remembered(world):
    c = client_for(world.researcher)
    c.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/catalog/"})
    page = c.get(reverse("frontend:catalog")).content.decode()
    assert 'lang="zh-Hans"' in page
    assert "设施目录" in page and "我的预约" in page
    world.researcher.refresh_from_db()
    assert world.researcher.language == "zh-hans"  # mail and feeds follow it
    # Signing in again elsewhere brings the Chinese pages back.
    fresh = Client()
    fresh.post(reverse("frontend:login"), {"username": "res", "password": "pw-123456"})
    assert "我的预约" in fresh.get(reverse("frontend:dashboard")).content.decode()
    # An unknown language changes nothing.
    c.post(reverse("frontend:language"), {"language": "klingon", "next": "/catalog/"})
    world.researcher.refresh_from_db()
    assert world.researcher.language == "zh-hans"


def test_manager_console_queue_fragment(world, requested):
    fragment = client_for(world.manager).get(reverse("frontend:console_queue")).content.decode()
    assert fragment.lstrip().startswith('<div id="queue">') and f"request-{requested.pk}" in fragment


def test_manager_sees_utilisation_chart_for_a_period(world, tomorrow_9):
    c = client_for(world.manager)
    page = c.get(reverse("frontend:console_facility", args=["FAC"]), {"period": "2026-Q3"}).content.decode()
    assert "Utilisation in 2026-Q3" in page and f"{world.instrument.code}: 0.0%" in page
    bad = c.get(reverse("frontend:console_facility", args=["FAC"]), {"period": "someday"}).content.decode()
    assert "is not a period" in bad


@pytest.mark.parametrize(
    "query",
    [
        {"week": "9999-12-31"},
        {"week": "0001-01-01"},
        {"week": "yesterday"},
        {"start": "2026-13-45T99:99"},
        {"start": "x" * 5000},
        {"week": "2026-12-01", "start": "2026-12-01T09:00", "end": "2026-11-01T09:00"},
    ],
)
def test_odd_calendar_input_is_never_a_500(world, query):
    response = client_for(world.researcher).get(reverse("frontend:instrument", args=[world.instrument.pk]), query)
    assert response.status_code == 200 and 'id="week"' in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/finance/?period=2026-99",
        "/search/?duration_minutes=-5&instruments=abc",
        "/catalog/?category=%00&q=" + "x" * 200,
        "/console/facilities/FAC/?period=99999",
    ],
)
def test_odd_query_strings_are_answered_in_words(world, path):
    c = client_for(world.admin)
    assert c.get(path).status_code == 200
