"""Bundles: slots on several instruments booked together, all or nothing.

Every instrument of the bundle is locked in id order in one transaction, so two bundles over the same
instruments never wait on each other in a cycle. A rule a slot breaks is a 400 naming the item; held
slots are a 409 `bundle_unavailable` listing the conflicts per item. Either way nothing is written.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict
from common.time import iso_local
from facilities.models import User

from .. import rules
from ..holds import lock_for_booking
from ..models import Booking, BookingBundle
from .requests import requester_institution, resolve_splits
from .series import error_words, hold_checked

MAX_ITEMS = 20


def booking_bundle_request(
    *,
    requester: User,
    items: list[dict],
    purpose: str = "",
    splits: list[dict] | None = None,
    now: dt.datetime | None = None,
) -> tuple[BookingBundle, list[Booking]]:
    """`items` is [{"instrument": Instrument, "start", "end"}]. Returns the bundle and its bookings in
    item order."""
    now = now or timezone.now()
    institution = requester_institution(requester)
    if not items:
        raise ValidationError({"items": _("A bundle needs at least one item.")})
    if len(items) > MAX_ITEMS:
        raise ValidationError({"items": _("A bundle holds at most %(max_items)s items.") % {"max_items": MAX_ITEMS}})
    rules.check_purpose(purpose)
    for n, item in enumerate(items, start=1):
        try:
            rules.check_times(item["start"], item["end"])
            rules.check_static_rules(instrument=item["instrument"], start=item["start"], end=item["end"], now=now)
            rules.check_qualification(instrument=item["instrument"], requester=requester)
        except ValidationError as exc:
            raise ValidationError(
                {
                    "items": _("Item %(n)s (%(code)s): %(error_words)s")
                    % {"n": n, "code": item["instrument"].code, "error_words": error_words(exc)}
                }
            ) from None
    specs = resolve_splits(requester=requester, splits=splits, day=timezone.localtime(items[0]["start"]).date())
    with transaction.atomic():
        lock_for_booking(instrument_ids=[item["instrument"].pk for item in items], accounts=[s.account for s in specs])
        bundle = BookingBundle.objects.create(requester=requester, purpose=purpose)
        bookings: list[Booking] = []
        conflicts: list[dict] = []
        for n, item in enumerate(items, start=1):
            instrument = item["instrument"]
            try:
                bookings.append(
                    hold_checked(
                        instrument=instrument,
                        requester=requester,
                        institution=institution,
                        start=item["start"],
                        end=item["end"],
                        purpose=purpose,
                        splits=splits,
                        now=now,
                        bundle=bundle,
                    )
                )
            except Conflict as exc:
                conflicts.append(
                    {
                        "item": n,
                        "instrument": instrument.pk,
                        "start": iso_local(item["start"]),
                        "end": iso_local(item["end"]),
                        "code": exc.code,
                        "detail": exc.detail,
                        "conflicts": exc.extra.get("conflicts", []),
                    }
                )
            except ValidationError as exc:
                raise ValidationError(
                    {
                        "items": _("Item %(n)s (%(code)s): %(error_words)s")
                        % {"n": n, "code": instrument.code, "error_words": error_words(exc)}
                    }
                ) from None
        if conflicts:
            listed = ", ".join(str(c["item"]) for c in conflicts)
            raise Conflict(
                "bundle_unavailable",
                _(
                    "Part of the bundle is already held (item %(listed)s); nothing was "
                    "booked. Pick other times for those items."
                )
                % {"listed": listed},
                items=conflicts,
            )
    return bundle, bookings
