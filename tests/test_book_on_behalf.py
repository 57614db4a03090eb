"""A facility manager books for a user, from the resource calendar and over the API: the booking is the
user's, made by the one booking service under the user's rules and charged to the user's accounts; its
history (the booking's audit log, BookingEvent) names the manager; nobody else may do it."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking
from booking.services import booking_request_on_behalf

from .factories.facilities import FacilityFactory, FundingAccountFactory, UserFactory, member

H = dt.timedelta(hours=1)
API = "/api/v1/bookings/"


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def form(w, start, **over) -> dict:
    data = {
        "behalf-username": "res",
        "behalf-instrument": str(w.instrument.pk),
        "behalf-start": local(start),
        "behalf-end": local(start + 2 * H),
        "behalf-account": "",
        "behalf-purpose": "Booked by phone",
        "next": reverse("frontend:resource_calendar", args=["FAC"]) + "?view=day",
    }
    data.update(over)
    return data


BOOK = reverse("frontend:resource_book", args=["FAC"])


def test_the_manager_books_for_a_user_from_the_calendar(world, tomorrow_9):
    c = client_for(world.manager)
    page = c.get(reverse("frontend:resource_calendar", args=["FAC"])).content.decode()
    assert 'id="book-on-behalf"' in page and "Book on behalf of a user" in page
    response = c.post(BOOK, form(world, tomorrow_9), follow=True)
    booking = Booking.objects.get()
    assert booking.requester == world.researcher and booking.institution == world.ustc
    assert [s.account for s in booking.splits.all()] == [world.researcher_account]  # the user's default
    assert booking.purpose == "Booked by phone" and booking.status == "approved"
    assert booking.events.get().actor == world.manager
    text = response.content.decode()
    assert response.redirect_chain[-1][0].endswith("?view=day")
    assert f"Booking #{booking.pk} is made for res" in text


def test_the_manager_picks_one_of_the_users_accounts(world, tomorrow_9):
    second = FundingAccountFactory(code="USTC-G2", institution=world.ustc, principal_investigator=world.researcher)
    c = client_for(world.manager)
    choice = c.get(reverse("frontend:resource_behalf_accounts", args=["FAC"]), {"behalf-username": "res"})
    assert "USTC-G1" in choice.content.decode() and "USTC-G2" in choice.content.decode()
    assert "ZJU-G1" not in choice.content.decode()
    c.post(BOOK, form(world, tomorrow_9, **{"behalf-account": str(second.pk)}))
    assert [s.account for s in Booking.objects.get().splits.all()] == [second]
    # An account that is not the user's is refused in words, nothing is written.
    response = c.post(
        BOOK, form(world, tomorrow_9 + 4 * H, **{"behalf-account": str(world.outsider_account.pk)}), follow=True
    )
    assert Booking.objects.count() == 1
    assert "Not booked for res" in response.content.decode()


def test_the_users_rules_bind_a_booking_made_for_them(world, tomorrow_9):
    world.instrument.requires_qualification = True
    world.instrument.save()
    response = client_for(world.manager).post(BOOK, form(world, tomorrow_9), follow=True)
    assert not Booking.objects.exists()
    assert "Not booked for res" in response.content.decode()
    # Approval too: an instrument that needs it leaves the user's booking requested.
    world.instrument.requires_qualification, world.instrument.requires_approval = False, True
    world.instrument.save()
    client_for(world.manager).post(BOOK, form(world, tomorrow_9))
    assert Booking.objects.get().status == "requested"


@pytest.mark.parametrize(
    "over",
    [
        {"behalf-username": "nobody"},
        {"behalf-username": ""},
        {"behalf-instrument": "999999"},
        {"behalf-start": "yesterday"},
        {"behalf-end": "2001-01-01T00:00"},
        {"behalf-account": "x"},
        {"behalf-username": "fin"},  # not a researcher
    ],
)
def test_bad_input_is_said_in_words_and_never_a_500(world, tomorrow_9, over):
    response = client_for(world.manager).post(BOOK, form(world, tomorrow_9, **over), follow=True)
    assert response.status_code == 200 and not Booking.objects.exists()
    assert 'class="errors" role="alert"' in response.content.decode()


def test_who_may_not_book_for_others(world, tomorrow_9):
    stranger = UserFactory(username="else-mgr")
    member(stranger, world.zju, "facility_manager", [FacilityFactory(code="ELSE")])
    assert client_for(stranger).post(BOOK, form(world, tomorrow_9)).status_code == 404
    accounts = reverse("frontend:resource_behalf_accounts", args=["FAC"])
    assert client_for(stranger).get(accounts, {"behalf-username": "res"}).status_code == 404
    for user in (world.researcher, world.finance, world.outsider):
        assert client_for(user).post(BOOK, form(world, tomorrow_9)).status_code == 403
        assert client_for(user).get(accounts, {"behalf-username": "res"}).status_code == 403
    assert client_for().post(BOOK, form(world, tomorrow_9)).status_code == 302
    assert not Booking.objects.exists()


def test_the_service_refuses_who_does_not_manage_the_facility(world, tomorrow_9):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        booking_request_on_behalf(
            actor=world.outsider,
            username="res",
            instrument_id=world.instrument.pk,
            start=tomorrow_9,
            end=tomorrow_9 + H,
        )
    assert not Booking.objects.exists()


# --- the API: POST /api/v1/bookings/ with on_behalf_of ---------------------------------------------------


def body(w, start, **over) -> dict:
    data = {
        "instrument": w.instrument.pk,
        "start": timezone.localtime(start).isoformat(),
        "end": timezone.localtime(start + H).isoformat(),
        "on_behalf_of": "res",
    }
    data.update(over)
    return data


def test_the_api_books_on_behalf_for_a_manager(world, tomorrow_9):
    response = world.client(world.manager).post(API, body(world, tomorrow_9), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["requester"] == "res" and response.json()["institution"] == "USTC"
    booking = Booking.objects.get()
    assert booking.requester == world.researcher and booking.events.get().actor == world.manager
    # The user sees it as theirs.
    mine = world.client(world.researcher).get(API).json()["results"]
    assert [b["id"] for b in mine] == [booking.pk]


def test_the_api_charges_only_the_users_accounts(world, tomorrow_9):
    ok = world.client(world.manager).post(
        API,
        body(world, tomorrow_9, splits=[{"account": world.researcher_account.pk, "percent": "100"}]),
        format="json",
    )
    assert ok.status_code == 201
    bad = world.client(world.manager).post(
        API,
        body(world, tomorrow_9 + 3 * H, splits=[{"account": world.outsider_account.pk, "percent": "100"}]),
        format="json",
    )
    assert bad.status_code == 400 and "splits" in bad.json()


def test_the_api_refuses_who_may_not_book_for_others(world, tomorrow_9):
    stranger = UserFactory(username="else-mgr")
    member(stranger, world.zju, "facility_manager", [FacilityFactory(code="ELSE")])
    for user in (world.outsider, world.researcher, world.finance, stranger):
        response = world.client(user).post(API, body(world, tomorrow_9), format="json")
        assert response.status_code == 403, (user, response.content)
        assert "on behalf" in response.json()["detail"]
    # Unknown user: the manager is told so; a non-manager learns nothing (403 above, before the name is read).
    unknown = world.client(world.manager).post(API, body(world, tomorrow_9, on_behalf_of="ghost"), format="json")
    assert unknown.status_code == 400 and "on_behalf_of" in unknown.json()
    for odd in (17, None, ["res"], "x" * 151):
        response = world.client(world.manager).post(API, body(world, tomorrow_9, on_behalf_of=odd), format="json")
        assert response.status_code == 400, odd
    assert not Booking.objects.exists()


def test_the_api_answers_in_chinese_for_on_behalf_refusals(world, tomorrow_9):
    response = world.client(world.outsider).post(
        API, body(world, tomorrow_9), format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 403 and "代" in response.json()["detail"]
