"""A company's cap per scheme and year holds when many of its bookings complete at once, even when they
draw on different vouchers of the scheme (so only the yearly row serialises them); and internal
settlement stays once-only under concurrent invoice runs. Real threads with their own connections:
an SQLite file with IMMEDIATE transactions, or PostgreSQL with row locks, whichever the suite runs on."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Charge, InnovationVoucher, InternalTransfer, VoucherRedemption, VoucherYearUse
from billing.services.invoicing import run_period
from booking.services import booking_complete
from facilities.models import RateCard
from facilities.models.tenants import Role

from .factories.billing import AgencyFactory, VoucherSchemeFactory, book, scheme_voucher
from .factories.facilities import (
    FacilityFactory,
    FundingAccountFactory,
    InstitutionFactory,
    InstrumentFactory,
    UserFactory,
    member,
)
from .test_billing_concurrency import race

D = Decimal
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
THREADS = 8


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_never_pass_the_cap_per_company_and_year(world):
    company = InstitutionFactory(code="ACME", kind="company", province="jiangsu")
    engineer = UserFactory(username="eng")
    member(engineer, company, Role.RESEARCHER)
    engineer.default_account = FundingAccountFactory(
        code="ACME-RD", institution=company, principal_investigator=engineer
    )
    engineer.save()
    second_facility = FacilityFactory(code="FAC2", host=world.sari)
    instruments = [world.instrument, InstrumentFactory(facility=second_facility, code="BL2")]
    for instrument in instruments:
        RateCard.objects.create(instrument=instrument, user_class="industry", hourly_rate=D("1000.00"))
    scheme = VoucherSchemeFactory(agency=AgencyFactory(code="HFSTB"), percent=D("50"), cap_per_company_year=D("3500"))
    # One voucher per facility: concurrent charges at the two facilities lock different voucher rows.
    vouchers = [
        scheme_voucher(scheme, company, cap=D("10000.00"), facility=facility)
        for facility in (world.facility, second_facility)
    ]
    # The company has drawn on the scheme this year already, so no insert of its yearly row serialises them.
    VoucherYearUse.objects.create(scheme=scheme, holder=company, year=2026, used=D("500.00"))
    # Each 2-hour booking is 2000.00 and wants 1000.00 of a voucher; 8 want 8000.00 of the 3000.00 left.
    bookings = [
        book(requester=engineer, instrument=instruments[i % 2], start=SEPT + dt.timedelta(hours=3 * i))
        for i in range(THREADS)
    ]
    errors = race(
        lambda pk: booking_complete(actor=None, booking_id=pk, now=SEPT + dt.timedelta(days=2)),
        [(b.pk,) for b in bookings],
    )
    assert not errors, errors
    assert Charge.objects.count() == THREADS
    drawn = sorted(Charge.objects.values_list("voucher_amount", flat=True))
    assert sum(drawn, D(0)) == D("3000.00")
    assert drawn.count(D("1000.00")) == 3
    assert VoucherYearUse.objects.get(scheme=scheme, holder=company, year=2026).used == D("3500.00")
    balances = sum(InnovationVoucher.objects.filter(pk__in=[v.pk for v in vouchers]).values_list("balance", flat=True))
    assert balances == D("20000.00") - D("3000.00")
    assert sum(VoucherRedemption.objects.values_list("amount", flat=True), D(0)) == D("3000.00")
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_invoice_runs_settle_each_internal_line_once(world):
    scientist = UserFactory(username="sari.sci")
    member(scientist, world.sari, Role.RESEARCHER)
    scientist.default_account = FundingAccountFactory(
        code="SARI-CC7", institution=world.sari, principal_investigator=scientist
    )
    scientist.save()
    RateCard.objects.create(instrument=world.instrument, user_class="internal", hourly_rate=D("100.00"))
    for i in range(6):
        b = book(requester=scientist, instrument=world.instrument, start=SEPT + dt.timedelta(hours=3 * i))
        booking_complete(actor=None, booking_id=b.pk, now=SEPT + dt.timedelta(days=2))
    errors = race(lambda: run_period(period="2026-09"), [() for _ in range(4)])
    assert not errors, errors
    assert InternalTransfer.objects.count() == 6
    assert sum(InternalTransfer.objects.values_list("amount", flat=True), D(0)) == D("1200.00")
