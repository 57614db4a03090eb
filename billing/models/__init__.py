from .charges import Charge, ChargeKind, ChargeLine, RateSnapshot
from .fapiao import BuyerTaxInfo, Fapiao, FapiaoFileType, FapiaoKind, RedLetterConfirmation
from .invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceRun, InvoiceSequence, InvoiceStatus, StripeEvent
from .payments import BankAccount, BankPayment, MatchMethod, PaymentMatch, PaymentStatus, StatementImport
from .policies import (
    BillingModel,
    BillingProfile,
    ChargePolicy,
    HostSubsidy,
    InnovationVoucher,
    VoucherMode,
    VoucherScheme,
    VoucherYearUse,
)
from .settlement import FacilityIncomeAccount, InternalTransfer, default_income_code
from .vouchers import CLAIM_TRANSITIONS, RedemptionStatus, VoucherRedemption

__all__ = [
    "BankAccount",
    "BankPayment",
    "BillingModel",
    "BuyerTaxInfo",
    "BillingProfile",
    "Charge",
    "ChargeKind",
    "ChargeLine",
    "CLAIM_TRANSITIONS",
    "ChargePolicy",
    "FacilityIncomeAccount",
    "Fapiao",
    "FapiaoFileType",
    "FapiaoKind",
    "HostSubsidy",
    "InnovationVoucher",
    "InternalTransfer",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceRun",
    "InvoiceSequence",
    "InvoiceStatus",
    "MatchMethod",
    "PaymentMatch",
    "PaymentStatus",
    "RateSnapshot",
    "RedemptionStatus",
    "RedLetterConfirmation",
    "StatementImport",
    "StripeEvent",
    "VoucherMode",
    "VoucherRedemption",
    "VoucherScheme",
    "VoucherYearUse",
    "default_income_code",
]
