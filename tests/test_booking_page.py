"""A booking's own page (/bookings/<id>/): who may open it (whoever may see the booking, 404 for anyone
else), what it shows (state and history, cost and payers, rules, calendar links), and the changes made
from it — time, payers, cancel with the late-cancellation fee stated — through the booking services."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Charge, ChargePolicy
from billing.services.charges import late_cancellation_quote
from booking.models import Booking, BookingEvent
from booking.services import booking_cancel, booking_change_payers, booking_request
from common.errors import Conflict
from facilities.models import GroupMember, ResearchGroup
from facilities.models.tenants import Role
from tests.factories.facilities import FundingAccountFactory, RateCardFactory, UserFactory, member

H = dt.timedelta(hours=1)


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def second_account(world):
    return FundingAccountFactory(code="USTC-G2", institution=world.ustc, principal_investigator=world.researcher)


@pytest.fixture
def booking(world, tomorrow_9):
    RateCardFactory(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("300.00"))
    return booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H, purpose="XRD"
    )


# --- who may open it ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["researcher", "manager", "finance", "admin"])
def test_whoever_may_see_the_booking_opens_its_page(world, booking, persona):
    page = client_for(getattr(world, persona)).get(reverse("frontend:booking", args=[booking.pk]))
    assert page.status_code == 200
    assert f"#{booking.pk}" in page.content.decode()


def test_a_group_leader_sees_a_members_booking(world, booking):
    leader = UserFactory(username="pi")
    member(leader, world.ustc, Role.RESEARCHER)
    group = ResearchGroup.objects.create(institution=world.ustc, name="Lab", leader=leader)
    GroupMember.objects.create(group=group, user=world.researcher)
    page = client_for(leader).get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    assert "XRD" in page  # the leader sees the purpose (SPEC: research group leader)
    assert 'id="payers-form"' not in page and 'id="time-form"' not in page


def test_a_paying_accounts_lead_who_is_nobody_else_to_the_booking_gets_404(world, booking):
    """Visibility is bookings_visible_to's alone: leading an account that pays part of a booking does not
    open it (the account's institution's finance and the requester's group leader see it)."""
    pays = FundingAccountFactory(code="ZJU-G7", institution=world.zju, principal_investigator=world.outsider)
    pays.members.add(world.researcher)
    booking_change_payers(
        actor=world.researcher, booking_id=booking.pk, splits=[{"account": pays.pk, "percent": "100"}]
    )
    assert client_for(world.outsider).get(reverse("frontend:booking", args=[booking.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["outsider", "other_manager", "other_finance"])
def test_anyone_else_gets_404_on_every_door(world, booking, persona):
    from tests.factories.facilities import FacilityFactory

    if persona == "outsider":
        user = world.outsider
    elif persona == "other_manager":
        user = UserFactory(username="m2")
        member(user, world.zju, Role.FACILITY_MANAGER, [FacilityFactory(code="OTHER", host=world.zju)])
    else:
        user = UserFactory(username="f2")
        member(user, world.zju, Role.FINANCE)
    c = client_for(user)
    pk = booking.pk
    assert c.get(reverse("frontend:booking", args=[pk])).status_code == 404
    assert c.get(reverse("frontend:booking_ics", args=[pk])).status_code == 404
    assert c.get(reverse("frontend:cancel", args=[pk])).status_code == 404
    start = booking.start + 3 * H
    assert (
        c.post(
            reverse("frontend:booking_time", args=[pk]), {"start": local_input(start), "end": local_input(start + H)}
        )
    ).status_code == 404
    assert (
        c.post(reverse("frontend:booking_payers", args=[pk]), {f"split_{world.outsider_account.pk}": "100"})
    ).status_code == 404
    booking.refresh_from_db()
    assert (booking.start, booking.status) == (start - 3 * H, Booking.Status.APPROVED)
    assert [s.account_id for s in booking.splits.all()] == [world.researcher_account.pk]


def test_anonymous_is_sent_to_sign_in(world, booking):
    response = client_for().get(reverse("frontend:booking", args=[booking.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("frontend:login"))


def test_finance_sees_but_may_not_cancel_or_change(world, booking):
    c = client_for(world.finance)
    page = c.get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    assert "Change who pays" not in page and "Cancel this booking" not in page
    assert c.get(reverse("frontend:cancel", args=[booking.pk])).status_code == 403


# --- what it shows --------------------------------------------------------------------------------


def test_page_shows_state_history_cost_payers_rules_and_calendar_links(world, booking, second_account):
    booking_change_payers(
        actor=world.researcher,
        booking_id=booking.pk,
        splits=[
            {"account": world.researcher_account.pk, "percent": "60"},
            {"account": second_account.pk, "percent": "40"},
        ],
    )
    page = client_for(world.researcher).get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    assert 'data-status="approved"' in page
    assert "2 h × ¥300.00/h = ¥600.00" in page
    assert "¥360.00" in page and "¥240.00" in page  # 60 % and 40 %
    assert "Payers changed from USTC-G1 100% to USTC-G1 60%, USTC-G2 40%" in page
    assert "Made: Approved" in page
    assert "Booking unit" in page and "Longest booking" in page
    assert reverse("frontend:booking_ics", args=[booking.pk]) in page
    assert f"/calendar/{world.researcher.calendar_token}.ics" in page
    assert "XRD" in page


def test_finance_of_a_non_paying_institution_does_not_see_the_purpose(world, booking):
    # USTC finance sees USTC people's bookings; the purpose only while a USTC account pays (it does here).
    assert "XRD" in client_for(world.finance).get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    zju_pays = FundingAccountFactory(code="ZJU-G9", institution=world.zju, principal_investigator=world.researcher)
    booking_change_payers(
        actor=world.researcher, booking_id=booking.pk, splits=[{"account": zju_pays.pk, "percent": "100"}]
    )
    page = client_for(world.finance).get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    assert "XRD" not in page
    ics = client_for(world.finance).get(reverse("frontend:booking_ics", args=[booking.pk])).content.decode()
    assert "XRD" not in ics


def test_single_event_calendar_file(world, booking):
    response = client_for(world.researcher).get(reverse("frontend:booking_ics", args=[booking.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert body.count("BEGIN:VEVENT") == 1 and f"booking-{booking.pk}@" in body and "XRD" in body


def test_booking_page_query_count_is_fixed(world, booking, second_account):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client_for(world.researcher)
    url = reverse("frontend:booking", args=[booking.pk])
    c.get(url)  # warm the session and caches

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url).status_code == 200
        return len(ctx.captured_queries)

    short = count()
    for n in range(6):  # the history and the payers grow; the page's queries do not
        booking_change_payers(
            actor=world.researcher,
            booking_id=booking.pk,
            splits=[
                {"account": world.researcher_account.pk, "percent": str(50 + n)},
                {"account": second_account.pk, "percent": str(50 - n)},
            ],
        )
    assert count() == short <= 16


# --- changing it -------------------------------------------------------------------------------------


def test_requester_moves_and_shortens_through_the_move_service(world, booking):
    c = client_for(world.researcher)
    new_start = booking.start + 4 * H
    response = c.post(
        reverse("frontend:booking_time", args=[booking.pk]),
        {"start": local_input(new_start), "end": local_input(new_start + H)},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.start, booking.end) == (new_start, new_start + H)
    assert BookingEvent.objects.filter(booking=booking, reason="moved").exists()
    page = c.get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    assert "Moved from" in page


def test_a_move_that_breaks_a_rule_is_refused_in_words(world, booking):
    world.instrument.max_minutes = 120
    world.instrument.save()
    c = client_for(world.researcher)
    response = c.post(
        reverse("frontend:booking_time", args=[booking.pk]),
        {"start": local_input(booking.start), "end": local_input(booking.start + 5 * H)},
    )
    assert response.status_code == 400
    assert "Maximum duration" in response.content.decode()
    booking.refresh_from_db()
    assert booking.end == booking.start + 2 * H


def test_manager_moves_but_may_not_change_payers(world, booking):
    c = client_for(world.manager)
    page = c.get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    assert 'id="time-form"' in page and 'id="payers-form"' not in page
    response = c.post(
        reverse("frontend:booking_payers", args=[booking.pk]), {f"split_{world.researcher_account.pk}": "100"}
    )
    assert response.status_code == 400
    assert "only its requester may" in response.content.decode()


def test_requester_changes_payers(world, booking, second_account):
    c = client_for(world.researcher)
    response = c.post(
        reverse("frontend:booking_payers", args=[booking.pk]),
        {f"split_{world.researcher_account.pk}": "25", f"split_{second_account.pk}": "75"},
    )
    assert response.status_code == 302
    assert sorted((s.account_id, s.percent) for s in booking.splits.all()) == sorted(
        [(world.researcher_account.pk, Decimal("25.00")), (second_account.pk, Decimal("75.00"))]
    )
    bad = c.post(
        reverse("frontend:booking_payers", args=[booking.pk]),
        {f"split_{world.researcher_account.pk}": "25", f"split_{second_account.pk}": "70"},
    )
    assert bad.status_code == 400 and "add up to exactly 100" in bad.content.decode()


def test_cancel_confirmation_states_no_fee_when_early(world, booking):
    c = client_for(world.researcher)
    page = c.get(reverse("frontend:cancel", args=[booking.pk])).content.decode()
    assert "No fee" in page
    response = c.post(
        reverse("frontend:cancel", args=[booking.pk]), {"next": reverse("frontend:booking", args=[booking.pk])}
    )
    assert response.status_code == 302 and response["Location"] == reverse("frontend:booking", args=[booking.pk])
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not Charge.objects.filter(booking=booking).exists()


def test_cancel_confirmation_states_the_late_fee_billing_then_charges(world, booking, second_account):
    ChargePolicy.objects.create(instrument=world.instrument, late_cancel_hours=48, late_cancel_percent=Decimal("50"))
    booking_change_payers(
        actor=world.researcher,
        booking_id=booking.pk,
        splits=[
            {"account": world.researcher_account.pk, "percent": "70"},
            {"account": second_account.pk, "percent": "30"},
        ],
    )
    c = client_for(world.researcher)
    page = c.get(reverse("frontend:cancel", args=[booking.pk])).content.decode()
    # 2 h × ¥300 = ¥600, 50 %: ¥300, split 70/30.
    assert "Late-cancellation fee: ¥300.00" in page and "¥210.00" in page and "¥90.00" in page
    assert (
        "Cancelling now costs a late-cancellation fee of ¥300.00"
        in c.get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    )
    c.post(reverse("frontend:cancel", args=[booking.pk]))
    charge = Charge.objects.get(booking=booking)
    assert charge.amount == Decimal("300.00")
    assert sorted(charge.lines.values_list("amount", flat=True)) == [Decimal("90.00"), Decimal("210.00")]


def test_the_facility_cancelling_is_told_it_costs_nothing(world, booking):
    ChargePolicy.objects.create(instrument=world.instrument, late_cancel_hours=48, late_cancel_percent=Decimal("50"))
    page = client_for(world.manager).get(reverse("frontend:cancel", args=[booking.pk])).content.decode()
    assert "No fee" in page
    assert late_cancellation_quote(booking=booking, actor=world.researcher).amount == Decimal("300.00")
    assert late_cancellation_quote(booking=booking, actor=world.manager).amount == 0


# --- the service --------------------------------------------------------------------------------------


def test_change_payers_service_checks_like_a_new_request(world, booking, second_account):
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.http import Http404

    with pytest.raises(Http404):
        booking_change_payers(actor=world.outsider, booking_id=booking.pk, splits=[])
    with pytest.raises(PermissionDenied):
        booking_change_payers(
            actor=world.manager, booking_id=booking.pk, splits=[{"account": second_account.pk, "percent": "100"}]
        )
    with pytest.raises(ValidationError, match="not one you lead or are named on"):
        booking_change_payers(
            actor=world.researcher,
            booking_id=booking.pk,
            splits=[{"account": world.outsider_account.pk, "percent": "100"}],
        )
    with pytest.raises(ValidationError, match="already paid that way"):
        booking_change_payers(
            actor=world.researcher,
            booking_id=booking.pk,
            splits=[{"account": world.researcher_account.pk, "percent": "100"}],
        )
    second_account.active = False
    second_account.save()
    with pytest.raises(ValidationError, match="is closed"):
        booking_change_payers(
            actor=world.researcher, booking_id=booking.pk, splits=[{"account": second_account.pk, "percent": "100"}]
        )
    booking_cancel(actor=world.researcher, booking_id=booking.pk)
    with pytest.raises(Conflict):
        booking_change_payers(
            actor=world.researcher,
            booking_id=booking.pk,
            splits=[
                {"account": world.researcher_account.pk, "percent": "50"},
                {"account": second_account.pk, "percent": "50"},
            ],
        )


def test_change_payers_respects_the_budget_cap(world, booking, second_account):
    from django.core.exceptions import ValidationError

    second_account.budget_cap = Decimal("100.00")
    second_account.save()
    with pytest.raises(ValidationError):
        booking_change_payers(
            actor=world.researcher, booking_id=booking.pk, splits=[{"account": second_account.pk, "percent": "100"}]
        )
    assert [s.account_id for s in booking.splits.all()] == [world.researcher_account.pk]


def test_change_payers_is_recorded_and_announced(world, booking, second_account, committed):
    from booking.signals import booking_changed

    seen = []

    def listen(sender, event, **kwargs):
        seen.append(event)

    booking_changed.connect(listen, dispatch_uid="test_payers")
    try:
        committed(
            booking_change_payers,
            actor=world.researcher,
            booking_id=booking.pk,
            splits=[{"account": second_account.pk, "percent": "100"}],
        )
    finally:
        booking_changed.disconnect(dispatch_uid="test_payers")
    assert seen == ["payers_changed"]
    event = BookingEvent.objects.get(booking=booking, reason="payers_changed")
    assert event.actor == world.researcher
    assert event.data == {
        "from": [{"account": world.researcher_account.pk, "percent": "100.00"}],
        "to": [{"account": second_account.pk, "percent": "100.00"}],
    }


# --- My bookings: upcoming only what will happen; the rest in their own views ---------------------------


def test_upcoming_shows_only_bookings_that_will_happen(world, tomorrow_9):
    from booking.services import booking_reject

    world.instrument.requires_approval = True
    world.instrument.save()
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    cancelled = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H
    )
    booking_cancel(actor=world.researcher, booking_id=cancelled.pk)
    rejected = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9 + 4 * H, end=tomorrow_9 + 5 * H
    )
    booking_reject(actor=world.manager, booking_id=rejected.pk, reason="beam down")
    c = client_for(world.researcher)

    def upcoming_ids(html: str) -> str:
        return html.split('id="ended-h"')[0]

    page = c.get(reverse("frontend:dashboard")).content.decode()
    top = upcoming_ids(page)
    assert f'id="booking-{held.pk}"' in top
    assert f'id="booking-{cancelled.pk}"' not in top and f'id="booking-{rejected.pk}"' not in top
    assert f'id="booking-{cancelled.pk}"' not in page  # not past either
    cancelled_view = c.get(reverse("frontend:dashboard"), {"show": "cancelled"}).content.decode()
    assert f'id="booking-{cancelled.pk}"' in cancelled_view and f'id="booking-{rejected.pk}"' not in cancelled_view
    rejected_view = c.get(reverse("frontend:dashboard_bookings"), {"show": "rejected"}).content.decode()
    assert f'id="booking-{rejected.pk}"' in rejected_view and "beam down" in rejected_view
    # An unknown view falls back to past, never an error.
    assert c.get(reverse("frontend:dashboard"), {"show": "<x>"}).status_code == 200


# --- the API: POST /api/v1/bookings/{id}/payers/ --------------------------------------------------------


def test_api_changes_payers_for_the_requester_only(world, booking, second_account):
    url = f"/api/v1/bookings/{booking.pk}/payers/"
    body = {"splits": [{"account": second_account.pk, "percent": "100"}]}
    assert world.client(world.outsider).post(url, body, format="json").status_code == 404
    refused = world.client(world.manager).post(url, body, format="json")
    assert refused.status_code == 403 and "only its requester may" in refused.json()["detail"]
    assert world.client(None).post(url, body, format="json").status_code in (401, 403)
    bad = world.client(world.researcher).post(
        url, {"splits": [{"account": second_account.pk, "percent": "90"}]}, format="json"
    )
    assert bad.status_code == 400 and "add up to exactly 100" in str(bad.json())
    assert world.client(world.researcher).post(url, {"splits": "x"}, format="json").status_code == 400
    ok = world.client(world.researcher).post(url, body, format="json")
    assert ok.status_code == 200
    assert ok.json()["splits"] == [{"account": second_account.pk, "percent": "100.00"}]
    # Empty: the default account pays all again.
    back = world.client(world.researcher).post(url, {"splits": []}, format="json")
    assert back.status_code == 200 and back.json()["splits"] == [
        {"account": world.researcher_account.pk, "percent": "100.00"}
    ]
    booking_cancel(actor=world.researcher, booking_id=booking.pk)
    late = world.client(world.researcher).post(url, body, format="json")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"


def test_api_payers_answers_in_chinese(world, booking, second_account):
    c = world.client(world.manager)
    r = c.post(
        f"/api/v1/bookings/{booking.pk}/payers/",
        {"splits": [{"account": second_account.pk, "percent": "100"}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 403 and "only" not in r.json()["detail"]


def test_an_ended_booking_offers_no_change(world, booking):
    booking_cancel(actor=world.researcher, booking_id=booking.pk)
    c = client_for(world.researcher)
    page = c.get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    assert 'data-status="cancelled"' in page and "Nothing about this booking can be changed" in page
    assert 'id="time-form"' not in page and 'id="payers-form"' not in page and 'id="cancel-terms"' not in page
    confirm = c.get(reverse("frontend:cancel", args=[booking.pk])).content.decode()
    assert "is cancelled and cannot be cancelled" in confirm and 'type="submit"' not in confirm.split("<main")[1]
    refused = c.post(
        reverse("frontend:booking_time", args=[booking.pk]),
        {"start": local_input(booking.start + 3 * H), "end": local_input(booking.start + 4 * H)},
    )
    assert refused.status_code == 400 and "cannot be moved" in refused.content.decode()


def test_history_tells_a_calendar_flag_and_the_facilitys_answer(world, booking):
    from booking.models import CalendarFlag
    from booking.services.flags import flag_keep

    flag = CalendarFlag.objects.create(
        booking=booking, cause="closure_added", reason="beam maintenance", reason_params={"text": "beam maintenance"}
    )
    flag_keep(actor=world.manager, flag_id=flag.pk, note="we run anyway")
    page = client_for(world.researcher).get(reverse("frontend:booking", args=[booking.pk])).content.decode()
    history = page.split('id="history"')[1].split("</ol>")[0]
    assert "Now in closed time because beam maintenance" in history
    assert "Kept by the facility" in history and "we run anyway" in history
