"""The finance console: invoice runs, invoices and credit notes, exports and cost-sharing charts."""


def finance_available() -> bool:
    """Whether the billing app offers what the console shows (invoices) on this installation."""
    try:
        from billing import selectors  # noqa: F401
        from billing.services import invoice_run  # noqa: F401
    except ImportError:
        return False
    return True
