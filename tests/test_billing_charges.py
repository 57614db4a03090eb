"""Charges: the rate fixed at booking time, fees per policy, splits, subsidies, vouchers, budgets."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.models import Charge, ChargeKind, ChargeLine, ChargePolicy, InnovationVoucher, RateSnapshot
from billing.services.charges import charge_recompute
from booking.services import booking_cancel, booking_no_show
from facilities.models import Institution, RateCard
from facilities.models.tenants import Role

from .factories.billing import AgencyFactory, HostSubsidyFactory, InnovationVoucherFactory, book, complete
from .factories.facilities import FundingAccountFactory, InstitutionFactory, UserFactory, member

D = Decimal
PAST = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def rates(world):
    for klass, rate in (("internal", "100.00"), ("external_academic", "300.00"), ("industry", "900.00")):
        RateCard.objects.create(instrument=world.instrument, user_class=klass, hourly_rate=D(rate))
    return world


def lines_of(booking):
    return list(ChargeLine.objects.filter(booking=booking).order_by("id").values_list("payer__code", "amount"))


def test_rate_is_fixed_when_booked_and_later_changes_do_not_touch_it(rates):
    w = rates
    booking = book(requester=w.researcher, instrument=w.instrument, start=PAST)
    snap = RateSnapshot.objects.get(booking=booking)
    assert (snap.user_class, snap.hourly_rate) == ("external_academic", D("300.00"))
    RateCard.objects.filter(instrument=w.instrument).update(hourly_rate=D("999.00"))
    complete(booking)
    charge = Charge.objects.get(booking=booking)
    assert charge.hourly_rate == D("300.00") and charge.gross == D("600.00") and charge.amount == D("600.00")
    assert lines_of(booking) == [("USTC", D("600.00"))]


def test_user_class_internal_and_industry(rates):
    w = rates
    host_user = UserFactory(username="sari-res")
    member(host_user, w.sari, Role.RESEARCHER)
    acct = FundingAccountFactory(institution=w.sari, principal_investigator=host_user)
    company = InstitutionFactory(code="ACME", kind=Institution.Kind.COMPANY)
    co_user = UserFactory(username="acme-res")
    member(co_user, company, Role.RESEARCHER)
    co_acct = FundingAccountFactory(institution=company, principal_investigator=co_user)
    internal = book(
        requester=host_user, instrument=w.instrument, start=PAST, splits=[{"account": acct.pk, "percent": "100"}]
    )
    industry = book(
        requester=co_user,
        instrument=w.instrument,
        start=PAST + dt.timedelta(hours=3),
        splits=[{"account": co_acct.pk, "percent": "100"}],
    )
    assert internal.rate_snapshot.user_class == "internal" and internal.rate_snapshot.hourly_rate == D("100.00")
    assert industry.rate_snapshot.user_class == "industry" and industry.rate_snapshot.hourly_rate == D("900.00")


def test_actual_time_policy_and_minimum_charge(rates):
    w = rates
    ChargePolicy.objects.create(instrument=w.instrument, billing_model="actual", minimum_charge=D("500.00"))
    b1 = book(requester=w.researcher, instrument=w.instrument, start=PAST, hours=3)
    complete(b1, actual_start=PAST, actual_end=PAST + dt.timedelta(minutes=130))
    c1 = Charge.objects.get(booking=b1)
    assert (c1.minutes, c1.gross, c1.billing_model) == (130, D("650.00"), "actual")
    b2 = book(requester=w.researcher, instrument=w.instrument, start=PAST + dt.timedelta(hours=4), hours=1)
    complete(b2, actual_start=b2.start, actual_end=b2.start + dt.timedelta(minutes=20))
    assert Charge.objects.get(booking=b2).gross == D("500.00")


def test_booked_time_policy_ignores_actual_use(rates):
    w = rates
    b = book(requester=w.researcher, instrument=w.instrument, start=PAST, hours=2)
    complete(b, actual_start=PAST, actual_end=PAST + dt.timedelta(minutes=30))
    assert Charge.objects.get(booking=b).gross == D("600.00")


def test_no_show_fee(rates):
    w = rates
    ChargePolicy.objects.create(instrument=w.instrument, no_show_percent=D("25"))
    b = book(requester=w.researcher, instrument=w.instrument, start=PAST, hours=2)
    booking_no_show(actor=None, booking_id=b.pk, now=b.end)
    c = Charge.objects.get(booking=b)
    assert (c.kind, c.gross) == (ChargeKind.NO_SHOW, D("150.00"))


def test_late_cancellation_by_requester_is_charged_early_or_by_manager_is_not(rates, monkeypatch):
    w = rates
    ChargePolicy.objects.create(instrument=w.instrument, late_cancel_hours=48, late_cancel_percent=D("50"))
    import django.utils.timezone as tz

    late = book(requester=w.researcher, instrument=w.instrument, start=PAST, hours=2)
    early = book(requester=w.researcher, instrument=w.instrument, start=PAST + dt.timedelta(days=5), hours=2)
    by_manager = book(requester=w.researcher, instrument=w.instrument, start=PAST + dt.timedelta(hours=3), hours=2)
    monkeypatch.setattr(tz, "now", lambda: PAST - dt.timedelta(hours=10))
    booking_cancel(actor=w.researcher, booking_id=late.pk)
    booking_cancel(actor=w.researcher, booking_id=early.pk)
    booking_cancel(actor=w.manager, booking_id=by_manager.pk)
    charge = Charge.objects.get(booking=late)
    assert (charge.kind, charge.gross) == (ChargeKind.LATE_CANCELLATION, D("300.00"))
    assert not Charge.objects.filter(booking__in=[early, by_manager]).exists()


def test_split_across_accounts_adds_up_by_largest_remainder(rates):
    w = rates
    RateCard.objects.filter(instrument=w.instrument, user_class="external_academic").update(hourly_rate=D("100.01"))
    second = FundingAccountFactory(code="USTC-G2", institution=w.ustc, principal_investigator=w.researcher)
    third = FundingAccountFactory(code="USTC-G3", institution=w.ustc, principal_investigator=w.researcher)
    b = book(
        requester=w.researcher,
        instrument=w.instrument,
        start=PAST,
        hours=1,
        splits=[
            {"account": w.researcher_account.pk, "percent": "33.33"},
            {"account": second.pk, "percent": "33.33"},
            {"account": third.pk, "percent": "33.34"},
        ],
    )
    complete(b)
    amounts = [a for _, a in lines_of(b)]
    assert sum(amounts) == D("100.01")
    # 3333.33, 3333.33 and 3334.33 fen: the one fen left goes to the largest remainder, the third
    assert amounts == [D("33.33"), D("33.33"), D("33.35")]


def test_host_subsidy_reduces_what_payers_owe(rates):
    w = rates
    HostSubsidyFactory(facility=w.facility, partner=w.ustc, percent=D("20"))
    b = book(requester=w.researcher, instrument=w.instrument, start=PAST)
    complete(b)
    c = Charge.objects.get(booking=b)
    assert (c.gross, c.subsidy, c.amount) == (D("600.00"), D("120.00"), D("480.00"))
    assert lines_of(b) == [("USTC", D("480.00"))]


def test_voucher_covers_its_percent_up_to_its_balance_and_bills_the_agency(rates):
    w = rates
    agency = AgencyFactory(code="HFSTB")
    voucher = InnovationVoucherFactory(agency=agency, holder=w.ustc, percent=D("50"), cap=D("400.00"))
    first = book(requester=w.researcher, instrument=w.instrument, start=PAST)
    complete(first)
    assert lines_of(first) == [("USTC", D("300.00")), ("HFSTB", D("300.00"))]
    second = book(requester=w.researcher, instrument=w.instrument, start=PAST + dt.timedelta(hours=3))
    complete(second)
    assert lines_of(second) == [("USTC", D("500.00")), ("HFSTB", D("100.00"))]
    voucher.refresh_from_db()
    assert voucher.balance == D("0.00")
    third = book(requester=w.researcher, instrument=w.instrument, start=PAST + dt.timedelta(hours=6))
    complete(third)
    assert lines_of(third) == [("USTC", D("600.00"))]


def test_voucher_only_covers_the_holders_share(rates):
    w = rates
    agency = AgencyFactory(code="HFSTB")
    InnovationVoucherFactory(agency=agency, holder=w.zju, percent=D("100"), cap=D("10000.00"))
    b = book(requester=w.researcher, instrument=w.instrument, start=PAST)
    complete(b)
    assert lines_of(b) == [("USTC", D("600.00"))]


def test_expired_voucher_is_not_used(rates):
    w = rates
    InnovationVoucherFactory(holder=w.ustc, valid_until=dt.date(2026, 1, 1))
    b = book(requester=w.researcher, instrument=w.instrument, start=PAST)
    complete(b)
    assert Charge.objects.get(booking=b).voucher_amount == D("0")


def test_over_budget_account_is_refused_with_its_remaining_budget(rates):
    w = rates
    w.researcher_account.budget_cap = D("1000.00")
    w.researcher_account.save()
    b = book(requester=w.researcher, instrument=w.instrument, start=PAST, hours=2)  # 600 estimated
    complete(b)
    with pytest.raises(ValidationError) as err:
        book(requester=w.researcher, instrument=w.instrument, start=PAST + dt.timedelta(hours=3), hours=2)
    message = str(err.value)
    assert "USTC-G1" in message and "400.00" in message


def test_account_expiring_before_the_booking_ends_is_refused(rates):
    w = rates
    w.researcher_account.valid_until = PAST.date()
    w.researcher_account.save()
    with pytest.raises(ValidationError) as err:
        book(requester=w.researcher, instrument=w.instrument, start=PAST.replace(hour=22), hours=4)
    assert "USTC-G1" in str(err.value) and "expires" in str(err.value)


def test_over_budget_request_through_the_api_is_400_naming_the_account(rates, tomorrow_9):
    w = rates
    w.researcher_account.budget_cap = D("100.00")
    w.researcher_account.save()
    response = w.client(w.researcher).post(
        "/api/v1/bookings/",
        {
            "instrument": w.instrument.pk,
            "start": tomorrow_9.isoformat(),
            "end": (tomorrow_9 + dt.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "USTC-G1" in str(response.json()) and "100.00" in str(response.json())


def test_recompute_applies_a_corrected_policy_until_invoiced(rates):
    w = rates
    b = book(requester=w.researcher, instrument=w.instrument, start=PAST)
    complete(b)
    voucher = InnovationVoucherFactory(holder=w.ustc, percent=D("10"), cap=D("1000.00"))
    charge = charge_recompute(booking_id=b.pk)
    assert charge.voucher_amount == D("60.00")
    charge = charge_recompute(booking_id=b.pk)  # the voucher's draw is given back before drawing again
    voucher.refresh_from_db()
    assert voucher.balance == D("940.00")
    assert sum(a for _, a in lines_of(b)) == D("600.00")


def test_unpublished_rate_is_free(world):
    b = book(requester=world.researcher, instrument=world.instrument, start=PAST)
    complete(b)
    c = Charge.objects.get(booking=b)
    assert (c.gross, c.amount) == (D("0.00"), D("0.00")) and not b.rate_snapshot.published
    assert InnovationVoucher.objects.count() == 0
