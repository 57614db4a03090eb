"""Actual use on the web: the instrument's printable QR code (its managers), the page the code opens on a
phone (start and stop one's own use), and the "in use" badge of the instrument page."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_POST

from common.errors import Conflict
from facilities import selectors
from facilities.models import Instrument
from usage.selectors import open_session
from usage.services import checkin_start, checkin_stop
from usage.services.sessions import booking_for_checkin, may_manage

REFUSALS = {  # the services' refusals, in the page's language
    "in_use": _l("Someone else is using this instrument now."),
    "slot_held": _l("Someone else has booked this time; you may start only within your own booking."),
    "not_in_use": _l("You are not using this instrument; there is nothing to stop."),
}


def _instrument(pk: int) -> Instrument:
    return get_object_or_404(selectors.instrument_list(include_inactive=True), pk=pk)


def use_url(request, instrument: Instrument) -> str:
    return request.build_absolute_uri(reverse("frontend:use", args=[instrument.pk]))


@require_GET
def qr_page(request, pk: int):
    """A printable sheet: the QR code that opens the check-in page, the instrument's name and the link."""
    instrument = _instrument(pk)
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    if not may_manage(request.user, instrument):
        raise PermissionDenied(_("Only this facility's managers print its instruments' QR codes."))
    url = use_url(request, instrument)
    svg = segno.make(url, error="m").svg_inline(scale=8, border=2, title=instrument.code)
    return render(request, "frontend/usage/qr.html", {"instrument": instrument, "url": url, "svg": svg})


@login_required
@require_GET
def use_page(request, pk: int):
    instrument = _instrument(pk)
    current = open_session(instrument.pk)
    now = timezone.now()
    ctx = {
        "instrument": instrument,
        "current": current,
        "mine": current is not None and current.user_id == request.user.pk,
        "booking": booking_for_checkin(user=request.user, instrument=instrument, now=now),
    }
    return render(request, "frontend/usage/use.html", ctx)


@login_required
@require_POST
def use_action(request, pk: int, action: str):
    instrument = _instrument(pk)
    try:
        if action == "start":
            checkin_start(user=request.user, instrument=instrument)
            messages.success(request, _("Use started. Stop it here when you are done."))
        elif action == "stop":
            checkin_stop(user=request.user, instrument=instrument)
            messages.success(request, _("Use stopped. Thank you."))
        else:
            messages.error(request, _("Unknown action."))
    except Conflict as exc:
        messages.error(request, str(REFUSALS.get(exc.code, exc.detail)))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("frontend:use", pk=instrument.pk)


@require_GET
def usage_badge(request, pk: int):
    instrument = _instrument(pk)
    ctx = {"instrument": instrument, "current": open_session(pk)}
    return render(request, "frontend/partials/usage_badge.html", ctx)
