"""The resource calendar: all of a facility's instruments in one day or week timeline, for its managers.

One SVG timeline (rows: instruments; x: time), each booking a link to its row in the list below, where the
manager approves, rejects or moves it through the same services as everywhere else. Closures are drawn too.
Live: the page listens on /ws/queue/ (as the console does) and fetches the timeline again on any event.
A fixed number of queries whatever the number of instruments and bookings."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from booking.models import Booking
from booking.services import booking_request_on_behalf
from booking.services.moves import booking_move
from common.errors import Conflict
from common.time import local_tz
from facilities.models import Closure, User
from facilities.selectors import accounts_chargeable_by

from ..errors import REFUSALS, messages_of
from ..forms import MoveForm, OnBehalfForm, RejectForm
from .access import role_required
from .manager import MANAGERS, _facility_for

SHOWN = (Booking.Status.REQUESTED, Booking.Status.APPROVED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW)
LABEL_W, TRACK_W, ROW_H = 120, 840, 28


def _window(request) -> tuple[str, dt.date, dt.datetime, dt.datetime]:
    view = "week" if request.GET.get("view") == "week" else "day"
    try:
        day = dt.date.fromisoformat((request.GET.get("day") or "")[:10])
        if not 2000 <= day.year <= 2099:
            raise ValueError
    except ValueError:
        day = timezone.localdate()
    if view == "week":
        day = day - dt.timedelta(days=day.weekday())
    start = dt.datetime.combine(day, dt.time(0), tzinfo=local_tz())
    return view, day, start, start + dt.timedelta(days=7 if view == "week" else 1)


def timeline(facility, view: str, day: dt.date, start: dt.datetime, end: dt.datetime) -> dict:
    instruments = list(facility.instruments.filter(active=True).order_by("code"))
    ids = [i.pk for i in instruments]
    bookings = list(
        Booking.objects.filter(instrument_id__in=ids, status__in=SHOWN, start__lt=end, end__gt=start)
        .select_related("requester", "institution", "instrument")
        .order_by("start")
    )
    closures = list(Closure.objects.filter(facility=facility, start__lt=end, end__gt=start).order_by("start"))
    span = (end - start).total_seconds()

    def x_of(moment: dt.datetime) -> float:
        moment = min(max(moment, start), end)
        return round(LABEL_W + (moment - start).total_seconds() / span * TRACK_W, 1)

    row_of = {pk: n for n, pk in enumerate(ids)}
    blocks = []
    for c in closures:
        rows = [row_of[c.instrument_id]] if c.instrument_id in row_of else ([] if c.instrument_id else range(len(ids)))
        for r in rows:
            blocks.append(
                {
                    "kind": "closure",
                    "x": x_of(c.start),
                    "w": x_of(c.end) - x_of(c.start),
                    "y": r * ROW_H + 24,
                    "title": f"{c.get_kind_display()} {c.reason}".strip(),
                    "closure": c,
                }
            )
    for b in bookings:
        blocks.append(
            {
                "kind": b.status,
                "x": x_of(b.start),
                "w": max(x_of(b.end) - x_of(b.start), 2),
                "y": row_of[b.instrument_id] * ROW_H + 24,
                "booking": b,
            }
        )
    if view == "week":
        ticks = [
            {
                "x": x_of(start + dt.timedelta(days=d)),
                "lx": x_of(start + dt.timedelta(days=d, hours=12)),  # the label in the middle of its day
                "label": f"{WEEKDAYS_ABBR[d]} {day + dt.timedelta(days=d):%m-%d}",
            }
            for d in range(7)
        ]
    else:
        ticks = [
            {"x": x_of(start + dt.timedelta(hours=h)), "lx": x_of(start + dt.timedelta(hours=h)), "label": f"{h:02d}"}
            for h in range(0, 24, 2)
        ]
    step = dt.timedelta(days=7 if view == "week" else 1)
    return {
        "view": view,
        "day": day,
        "prev": (day - step).isoformat(),
        "next": (day + step).isoformat(),
        "instruments": [{"i": i, "y": n * ROW_H + 24, "ty": n * ROW_H + 42} for n, i in enumerate(instruments)],
        "blocks": blocks,
        "bookings": bookings,
        "ticks": ticks,
        "height": len(instruments) * ROW_H + 30,
        "track_end": LABEL_W + TRACK_W,
        "now_x": x_of(timezone.now()) if start <= timezone.now() < end else None,
    }


def _context(request, code: str) -> dict:
    facility = _facility_for(request, code)
    view, day, start, end = _window(request)
    cal = timeline(facility, view, day, start, end)
    return {
        "facility": facility,
        "nav": "console",
        "cal": cal,
        "reject_form": RejectForm(auto_id=False),
        "behalf_form": OnBehalfForm(
            prefix="behalf",
            instruments=[r["i"] for r in cal["instruments"]],
            initial={"start": start + dt.timedelta(hours=9), "end": start + dt.timedelta(hours=10)},
        ),
        # Where decisions come back to: the page, also when this is the live fragment.
        "here": f"{reverse('frontend:resource_calendar', args=[facility.code])}?view={view}&day={day.isoformat()}",
    }


@role_required(*MANAGERS)
def resource_calendar(request, code: str):
    return render(request, "frontend/manager/resource_calendar.html", _context(request, code))


@role_required(*MANAGERS)
def resource_calendar_fragment(request, code: str):
    return render(request, "frontend/manager/resource_timeline.html", _context(request, code))


def _back(request, facility) -> str:
    back = request.POST.get("next") or ""
    if back.startswith("/") and not back.startswith("//"):
        return back
    return reverse("frontend:resource_calendar", args=[facility.code])


def _user_accounts(username: str) -> tuple[User | None, list]:
    """A user's funding accounts that may be charged today, for the manager booking on their behalf."""
    user = User.objects.filter(username=username.strip(), is_active=True).first() if username.strip() else None
    if user is None:
        return None, []
    today = timezone.localdate()
    accounts = accounts_chargeable_by(user).filter(active=True, valid_from__lte=today, valid_until__gte=today)
    return user, list(accounts.order_by("code"))


@role_required(*MANAGERS)
def behalf_accounts(request, code: str):
    """The account choice of the on-behalf form, for the user named so far (htmx, on change of the name)."""
    _facility_for(request, code)
    user, accounts = _user_accounts(request.GET.get("behalf-username", "")[:150])
    return render(request, "frontend/manager/behalf_accounts.html", {"accounts": accounts, "found": user is not None})


@require_POST
@role_required(*MANAGERS)
def book_on_behalf(request, code: str):
    """Book for a user from the resource calendar: the one booking service, the user's rules and accounts;
    the booking's history (BookingEvent) names the manager."""
    facility = _facility_for(request, code)
    back = _back(request, facility)
    instruments = list(facility.instruments.filter(active=True).order_by("code"))
    form = OnBehalfForm(request.POST, prefix="behalf", instruments=instruments)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else None
            for text in errors:
                messages.error(request, f"{label}: {text}" if label else str(text))
        return redirect(back)
    d = form.cleaned_data
    try:
        booking = booking_request_on_behalf(
            actor=request.user,
            username=d["username"],
            instrument_id=d["instrument"].pk,
            start=d["start"],
            end=d["end"],
            purpose=d.get("purpose") or "",
            splits=[{"account": d["account"], "percent": "100"}] if d.get("account") else None,
        )
    except REFUSALS as exc:
        for _field, text in messages_of(exc):
            messages.error(request, _("Not booked for %(user)s: %(why)s") % {"user": d["username"], "why": text})
        return redirect(back)
    messages.success(
        request,
        _("Booking #%(id)s is made for %(user)s: %(start)s–%(end)s, %(status)s.")
        % {
            "id": booking.pk,
            "user": booking.requester.username,
            "start": timezone.localtime(booking.start).strftime("%Y-%m-%d %H:%M"),
            "end": timezone.localtime(booking.end).strftime("%H:%M"),
            "status": booking.get_status_display(),
        },
    )
    return redirect(back)


@require_POST
@role_required(*MANAGERS)
def move(request, code: str, pk: int):
    facility = _facility_for(request, code)
    back = request.POST.get("next") or ""
    back = (
        back
        if back.startswith("/") and not back.startswith("//")
        else reverse("frontend:resource_calendar", args=[facility.code])
    )
    booking = Booking.objects.filter(pk=pk, instrument__facility=facility).first()
    if booking is None:
        raise Http404(_("No such booking at this facility."))
    form = MoveForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.as_data().values():
            for error in errors:
                for text in error.messages:
                    messages.error(request, text)
        return redirect(back)
    new_start = form.cleaned_data["start"]
    try:
        booking_move(actor=request.user, booking_id=pk, start=new_start, end=new_start + (booking.end - booking.start))
        messages.success(request, _("Booking #%(id)s is moved.") % {"id": pk})
    except (ValidationError, Conflict, PermissionDenied) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, _("Booking #%(id)s: %(why)s") % {"id": pk, "why": text})
    return redirect(back)
