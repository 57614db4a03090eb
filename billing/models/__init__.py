from .charges import Charge, ChargeKind, ChargeLine, RateSnapshot
from .invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceRun, InvoiceSequence, InvoiceStatus, StripeEvent
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
    "BillingModel",
    "BillingProfile",
    "Charge",
    "ChargeKind",
    "ChargeLine",
    "CLAIM_TRANSITIONS",
    "ChargePolicy",
    "FacilityIncomeAccount",
    "HostSubsidy",
    "InnovationVoucher",
    "InternalTransfer",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceRun",
    "InvoiceSequence",
    "InvoiceStatus",
    "RateSnapshot",
    "RedemptionStatus",
    "StripeEvent",
    "VoucherMode",
    "VoucherRedemption",
    "VoucherScheme",
    "VoucherYearUse",
    "default_income_code",
]
