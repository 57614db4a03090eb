"""Every model registered with the audit trail files its entries under the right institutions: a change to
each is read by the administrators of those institutions, and not by another institution's. Agent keys
never reach the trail."""

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from audit.selectors import entries_visible_to
from billing.models import (
    BankPayment,
    BuyerTaxInfo,
    ChargeLine,
    FacilityIncomeAccount,
    Fapiao,
    InternalTransfer,
    Invoice,
    PaymentMatch,
    RedLetterConfirmation,
    StatementImport,
    VoucherRedemption,
)
from billing.models.invoices import InvoiceKind
from facilities.models import InstitutionDomain, InstrumentRegistration, JoinRequest
from facilities.models.tenants import Role
from usage.models import Source, Suspension, UsageSession, UsageSettings, Violation, ViolationPolicy
from usage.services.agent import agent_key_rotate

from .factories.billing import InnovationVoucherFactory, VoucherSchemeFactory
from .factories.facilities import FundingAccountFactory, InstitutionFactory, UserFactory, member
from .factories.receivables import bank_account, issued_invoice
from .factories.reports import charge, past_booking

pytestmark = pytest.mark.django_db
TZ = dt.timezone(dt.timedelta(hours=8))
OCT = dt.datetime(2026, 10, 5, 9, tzinfo=TZ)


def _booking(w, *, by_host=False):
    return past_booking(
        instrument=w.instrument,
        requester=w.manager if by_host else w.outsider,
        institution=w.sari if by_host else w.zju,
        start=OCT,
        end=OCT + dt.timedelta(hours=2),
    )


def _invoice(w, credit_of=None):
    return Invoice.objects.create(
        issuer=w.sari,
        payer=w.zju,
        period="2026-10",
        kind=InvoiceKind.CREDIT_NOTE if credit_of else InvoiceKind.INVOICE,
        credit_of=credit_of,
        status=Invoice.Status.DRAFT,
        total=Decimal("10.00"),
    )


def _statement(w):
    return StatementImport.objects.create(
        bank_account=bank_account(w.sari), bank_format="icbc", filename="oct.csv", sha256="0" * 64
    )


def _payment(w):
    statement = _statement(w)
    return BankPayment.objects.create(
        bank_account=statement.bank_account,
        statement=statement,
        fingerprint="f1",
        value_date=dt.date(2026, 11, 3),
        amount=Decimal("10.00"),
    )


def _voucher_redemption(w):
    scheme = VoucherSchemeFactory(agency=w.agency)
    voucher = InnovationVoucherFactory(agency=w.agency, holder=w.zju, facility=None)
    booked = _booking(w)
    return VoucherRedemption.objects.create(
        charge=charge(booked, user_class="external_academic", amount="10.00"),
        voucher=voucher,
        scheme=scheme,
        mode=scheme.mode,
        agency=w.agency,
        holder=w.zju,
        facility=w.facility,
        province="zhejiang",
        year=2026,
        period="2026-10",
        amount=Decimal("5.00"),
        status="invoiced" if scheme.mode == "tongdui" else "pending",
    )


def _internal_transfer(w):
    booked = _booking(w, by_host=True)
    c = charge(booked, user_class="internal", amount="10.00")
    account = FundingAccountFactory(institution=w.sari)
    line = ChargeLine.objects.create(
        account=account,
        charge=c,
        booking=booked,
        payer=w.sari,
        issuer=w.sari,
        period="2026-10",
        user_class="internal",
        percent=Decimal("100"),
        amount=Decimal("10.00"),
    )
    return InternalTransfer.objects.create(
        charge_line=line,
        institution=w.sari,
        period="2026-10",
        date=OCT.date(),
        debit_account=account,
        credit_account="INC-FAC",
        facility=w.facility,
        booking=booked,
        amount=Decimal("10.00"),
    )


HOST, PARTIES, AGENCY = ("SARI",), ("SARI", "ZJU"), ("AGY",)
# (what, how to change one, whose administrators read it)
CHANGES: list[tuple[str, Callable, tuple[str, ...]]] = [
    ("usage settings", lambda w: UsageSettings.objects.create(instrument=w.instrument), HOST),
    (
        "usage session",
        lambda w: UsageSession.objects.create(
            instrument=w.instrument, user=w.outsider, start=OCT, end=OCT, last_seen=OCT, source=Source.QR
        ),
        HOST,
    ),
    ("violation policy", lambda w: ViolationPolicy.objects.create(facility=w.facility), HOST),
    (
        "violation",
        lambda w: Violation.objects.create(
            user=w.outsider, facility=w.facility, booking=_booking(w), kind="no_show", occurred_at=OCT
        ),
        HOST,
    ),
    (
        "suspension",
        lambda w: Suspension.objects.create(
            user=w.outsider, facility=w.facility, starts_at=OCT, ends_at=OCT + dt.timedelta(days=7), reason="r"
        ),
        HOST,
    ),
    ("voucher scheme", lambda w: VoucherSchemeFactory(agency=w.agency), AGENCY),
    ("voucher redemption", _voucher_redemption, ("AGY", "SARI", "ZJU")),
    ("facility income account", lambda w: FacilityIncomeAccount.objects.create(facility=w.facility, code="I"), HOST),
    ("internal transfer", _internal_transfer, HOST),
    ("bank account", lambda w: bank_account(w.sari), HOST),
    ("buyer tax info", lambda w: BuyerTaxInfo.objects.create(institution=w.zju, tax_id="91330000X"), ("ZJU",)),
    (
        "fapiao",
        lambda w: Fapiao.objects.create(
            invoice=_invoice(w),
            number="24310000000000000001",
            kind="special",
            issued_on=dt.date(2026, 11, 1),
            buyer_name="浙江大学",
            buyer_tax_id="91330000X",
            tax_rate=Decimal("0.06"),
            tax_amount=Decimal("0.57"),
        ),
        PARTIES,
    ),
    (
        "red-letter confirmation",
        lambda w: RedLetterConfirmation.objects.create(
            credit_note=_invoice(w, credit_of=_invoice(w)), number="RL1", confirmed_on=dt.date(2026, 11, 2)
        ),
        PARTIES,
    ),
    (
        "payment match",
        lambda w: PaymentMatch.objects.create(
            payment=_payment(w),
            invoice=issued_invoice(issuer=w.sari, payer=w.zju, total="10.00", number="SARI-1"),
            amount=Decimal("10.00"),
            method="manual",
        ),
        PARTIES,
    ),
    ("bank payment", _payment, HOST),
    ("statement import", _statement, HOST),
    ("instrument registration", lambda w: InstrumentRegistration.objects.create(instrument=w.instrument), HOST),
    (
        "institution domain",
        lambda w: InstitutionDomain.objects.create(institution=w.zju, domain="zju.edu.cn"),
        ("ZJU",),
    ),
    (
        "join request",
        lambda w: JoinRequest.objects.create(user=w.researcher, institution=w.zju, via=JoinRequest.Via.REQUEST),
        ("ZJU",),
    ),
]


@pytest.fixture
def admins(world):
    """An administrator of each institution, and an agency with its own."""
    world.agency = InstitutionFactory(code="AGY", kind="government")
    found = {}
    for institution in (world.sari, world.zju, world.ustc, world.agency):
        admin = UserFactory(username=f"{institution.code.lower()}-admin")
        member(admin, institution, Role.INSTITUTION_ADMIN)
        found[institution.code] = admin
    return found


@pytest.mark.parametrize("what,change,readers", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_is_read_by_its_institutions_and_no_other(world, admins, what, change, readers):
    obj = change(world)
    [entry] = LogEntry.objects.get_for_object(obj).filter(action=LogEntry.Action.CREATE)
    assert sorted(entry.additional_data["institutions"]) == sorted(
        admins[code].memberships.get().institution_id for code in readers
    )
    for code, admin in admins.items():
        visible = entries_visible_to(admin).filter(pk=entry.pk).exists()
        assert visible == (code in readers), (what, code)
    assert entries_visible_to(world.admin).filter(pk=entry.pk).exists()


def test_every_audited_model_files_its_entries(world):
    """No model is registered without saying whose trail its changes belong to."""
    from auditlog.registry import auditlog

    without = sorted(
        model._meta.label
        for model in auditlog.get_models()
        if not hasattr(model, "get_additional_data") and model._meta.app_label != "authtoken"
    )
    assert without == []


def test_agent_keys_never_reach_the_trail(world, admins):
    key = agent_key_rotate(actor=world.manager, instrument=world.instrument)
    key_again = agent_key_rotate(actor=world.manager, instrument=world.instrument)
    row = UsageSettings.objects.get(instrument=world.instrument)
    entries = list(LogEntry.objects.get_for_object(row))
    assert len(entries) == 3 and all(e.additional_data["institutions"] == [world.sari.pk] for e in entries)
    text = json.dumps([[e.changes, e.object_repr, e.additional_data] for e in entries], default=str)
    for secret in (key, key_again, row.agent_key_encrypted):
        assert secret not in text
    assert "agent_key_encrypted" not in text and "agent_key_rotated_at" in text
