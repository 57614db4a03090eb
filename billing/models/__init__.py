from .charges import Charge, ChargeKind, ChargeLine, RateSnapshot
from .fapiao import BuyerTaxInfo, Fapiao, FapiaoFileType, FapiaoKind, RedLetterConfirmation
from .invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceRun, InvoiceSequence, InvoiceStatus, StripeEvent
from .payments import BankAccount, BankPayment, MatchMethod, PaymentMatch, PaymentStatus, StatementImport
from .policies import BillingModel, BillingProfile, ChargePolicy, HostSubsidy, InnovationVoucher

__all__ = [
    "BankAccount",
    "BankPayment",
    "BillingModel",
    "BuyerTaxInfo",
    "BillingProfile",
    "Charge",
    "ChargeKind",
    "ChargeLine",
    "ChargePolicy",
    "Fapiao",
    "FapiaoFileType",
    "FapiaoKind",
    "HostSubsidy",
    "InnovationVoucher",
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
    "RedLetterConfirmation",
    "StatementImport",
    "StripeEvent",
]
