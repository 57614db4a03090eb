from .charges import Charge, ChargeKind, ChargeLine, RateSnapshot
from .invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceRun, InvoiceSequence, InvoiceStatus, StripeEvent
from .policies import BillingModel, BillingProfile, ChargePolicy, HostSubsidy, InnovationVoucher

__all__ = [
    "BillingModel",
    "BillingProfile",
    "Charge",
    "ChargeKind",
    "ChargeLine",
    "ChargePolicy",
    "HostSubsidy",
    "InnovationVoucher",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceRun",
    "InvoiceSequence",
    "InvoiceStatus",
    "RateSnapshot",
    "StripeEvent",
]
