"""Small display helpers shared by the pages."""

import datetime as dt
from decimal import Decimal

from django import template
from django.utils import timezone, translation
from django.utils.translation import gettext

register = template.Library()


@register.filter
def local(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M"):
    """A moment in the platform's time zone (Asia/Shanghai), as people there read it."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime(fmt)


@register.filter
def iso(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


@register.filter
def yuan(amount) -> str:
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    return f"¥{value:,}"


@register.filter
def minutes_words(minutes: int) -> str:
    """Durations the way the rules are stated: days, hours or minutes."""
    from django.utils.translation import ngettext

    minutes = int(minutes or 0)
    if minutes and minutes % 1440 == 0:
        n = minutes // 1440
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}
    if minutes and minutes % 60 == 0:
        n = minutes // 60
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


@register.filter
def zh_or_en(obj, field: str = "name") -> str:
    """The Chinese name when the page is in Chinese and one exists."""
    zh = getattr(obj, f"{field}_zh", "")
    if zh and translation.get_language() == "zh-hans":
        return zh
    return getattr(obj, field, "")


@register.filter
def invoice_ref(invoice) -> str:
    """How an invoice is told apart in lists: its number, or until it has one "Draft #12" (the same id as
    the exports' DRAFT-12)."""
    if invoice is None:
        return ""
    if invoice.number:
        return invoice.number
    if getattr(invoice, "kind", "") == "credit_note":
        return gettext("Draft credit note #%(id)s") % {"id": invoice.pk}
    return gettext("Draft #%(id)s") % {"id": invoice.pk}


@register.filter
def last_day(moment: dt.datetime | None) -> str:
    """The last local day something that ends at `moment` (a midnight, say) still holds."""
    if moment is None:
        return ""
    return (timezone.localtime(moment) - dt.timedelta(microseconds=1)).date().isoformat()
