"""A booking's own page: its state and history, its cost and who pays what, the rules it met, calendar
links; and changing it (move, shorten or extend, change payers) or cancelling it after a confirmation that
states any late-cancellation fee.

Whoever may see the booking (booking.selectors.bookings_visible_to) may open the page; for anyone else it
does not exist (404). Every change goes through the booking services, which decide who may do what."""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing.services.charges import late_cancellation_quote
from booking import feeds
from booking.models import Booking, BookingEvent, BookingSplit, CalendarFlag
from booking.selectors import bookings_visible_to, may_see_purpose
from booking.services import booking_change_payers, booking_move
from facilities.models import FundingAccount
from facilities.selectors import accounts_chargeable_by, is_manager_of

from ..errors import REFUSALS, attach
from ..forms import BookingTimeForm, DecisionForm, PayersForm
from ..week import estimate
from . import dashboard
from .dashboard import calendar_url


def _signed_in(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def visible_booking(user, pk: int) -> Booking:
    """The booking with what its page shows, or 404 for anyone who may not see it."""
    booking = (
        bookings_visible_to(user)
        .select_related("rate_snapshot", "decided_by")
        .prefetch_related(
            Prefetch("splits", queryset=BookingSplit.objects.select_related("account__institution").order_by("id"))
        )
        .filter(pk=pk)
        .first()
    )
    if booking is None:
        raise Http404(_("No such booking, or you may not see it."))
    return booking


def _percents(rows: list[dict], accounts: dict[int, FundingAccount]) -> str:
    """Recorded splits ([{"account", "percent"}]) as "USTC-G1 60%, USTC-G2 40%"."""
    parts = []
    for row in rows:
        account = accounts.get(int(row["account"]))
        parts.append(f"{account.code if account else row['account']} {Decimal(row['percent']).normalize():f}%")
    return ", ".join(parts)


def history(booking: Booking, accounts: dict[int, FundingAccount]) -> list[dict]:
    """The booking's audit trail (BookingEvent) and its calendar flags, oldest first, each entry put in the
    reader's words."""
    events = list(BookingEvent.objects.filter(booking=booking).select_related("actor").order_by("at", "id"))
    unknown = {
        int(row["account"])
        for e in events
        if e.reason == "payers_changed"
        for side in ("from", "to")
        for row in e.data.get(side, [])
        if int(row["account"]) not in accounts
    }
    if unknown:
        accounts = {**accounts, **FundingAccount.objects.in_bulk(unknown)}
    statuses = dict(Booking.Status.choices)
    rows: list[dict[str, Any]] = []
    for e in events:
        who = (e.actor.get_full_name() or e.actor.username) if e.actor else _("the system")
        status = statuses.get(e.to_status, e.to_status)
        note = ""
        if e.reason == "moved":
            before, after = e.data.get("from", ["", ""]), e.data.get("to", ["", ""])
            what = _("Moved from %(before)s to %(after)s") % {
                "before": f"{before[0][:16].replace('T', ' ')}–{before[1][11:16]}",
                "after": f"{after[0][:16].replace('T', ' ')}–{after[1][11:16]}",
            }
            if e.from_status != e.to_status:
                what += " · " + _("back to %(status)s for approval") % {"status": status}
        elif e.reason == "payers_changed":
            what = _("Payers changed from %(before)s to %(after)s") % {
                "before": _percents(e.data.get("from", []), accounts),
                "after": _percents(e.data.get("to", []), accounts),
            }
        elif not e.from_status:
            what = _("Made: %(status)s") % {"status": status}
            note = e.reason
        else:
            what = _("%(before)s → %(after)s") % {"before": statuses.get(e.from_status, e.from_status), "after": status}
            note = e.reason
        rows.append({"at": e.at, "who": who, "what": what, "note": note})
    # Calendar changes that put it in closed time, and the facility's answer (booking/models/flags.py).
    for flag in CalendarFlag.objects.filter(booking=booking).select_related("resolved_by").order_by("created_at"):
        rows.append(
            {
                "at": flag.created_at,
                "who": _("the system"),
                "what": _("Now in closed time because %(why)s") % {"why": flag.reason_text},
                "note": "",
            }
        )
        if flag.status != CalendarFlag.Status.OPEN and flag.resolved_at:
            by = flag.resolved_by
            rows.append(
                {
                    "at": flag.resolved_at,
                    "who": (by.get_full_name() or by.username) if by else _("the system"),
                    "what": flag.get_status_display(),
                    "note": flag.note,
                }
            )
    rows.sort(key=lambda r: r["at"])
    return rows


def _context(request, booking: Booking, **forms: Any) -> dict:
    user = request.user
    now = timezone.now()
    manager = user.is_superuser or is_manager_of(user, booking.instrument.facility_id)
    mine = booking.requester_id == user.pk
    splits = list(booking.splits.all())
    snapshot = getattr(booking, "rate_snapshot", None)
    cost = estimate(snapshot.hourly_rate if snapshot else None, booking.start, booking.end, [s.percent for s in splits])
    if cost:
        cost["lines"] = list(zip(splits, cost["shares"], strict=False))
    can_change_time = booking.holds_slot and (mine or manager) and booking.start > now
    can_change_payers = booking.holds_slot and mine
    can_cancel = booking.can_cancel() and (mine or manager)
    accounts = list(accounts_chargeable_by(user).order_by("code")) if can_change_payers else []
    ctx = {
        "nav": "dashboard" if mine else "",
        "booking": booking,
        "splits": splits,
        "cost": cost,
        "snapshot": snapshot,
        "show_purpose": may_see_purpose(user, booking),
        "manager": manager,
        "mine": mine,
        "history": history(booking, {s.account_id: s.account for s in splits}),
        "can_change_time": can_change_time,
        "can_change_payers": can_change_payers,
        "can_cancel": can_cancel,
        "terms": late_cancellation_quote(booking=booking, actor=user, at=now) if can_cancel else None,
        "feed_url": calendar_url(request) if mine else None,
        "time_form": forms.get("time_form")
        or (
            BookingTimeForm(
                instrument=booking.instrument,
                initial={"start": timezone.localtime(booking.start), "end": timezone.localtime(booking.end)},
            )
            if can_change_time
            else None
        ),
        "payers_form": forms.get("payers_form")
        or (
            PayersForm(accounts=accounts, current={s.account_id: s.percent for s in splits})
            if can_change_payers
            else None
        ),
    }
    return ctx


def _refused(request, pk: int, may: str, **forms):
    """The page again with the refused form and its errors (400); when the page does not draw that form
    for this reader (they may not make the change), its errors are said above the page instead."""
    booking = visible_booking(request.user, pk)
    ctx = _context(request, booking, **forms)
    if not ctx[may]:
        for form in forms.values():
            for errors in form.errors.values():
                for text in errors:
                    messages.error(request, text)
    return render(request, "frontend/booking/page.html", ctx, status=400)


@require_GET
@_signed_in
def booking_page(request, pk: int):
    booking = visible_booking(request.user, pk)
    return render(request, "frontend/booking/page.html", _context(request, booking))


@require_POST
@_signed_in
def change_time(request, pk: int):
    """Move, shorten or extend: `booking_move`, every rule of a new request checked for the new time."""
    booking = visible_booking(request.user, pk)
    form = BookingTimeForm(request.POST, instrument=booking.instrument)
    if form.is_valid():
        try:
            booking_move(
                actor=request.user, booking_id=pk, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
            )
        except REFUSALS as exc:
            attach(form, exc)
        else:
            messages.success(request, _("Booking #%(id)s now has its new time.") % {"id": pk})
            return redirect("frontend:booking", pk=pk)
    return _refused(request, pk, "can_change_time", time_form=form)


@require_POST
@_signed_in
def change_payers(request, pk: int):
    """Change who pays: `booking_change_payers`, checked like the splits of a new request."""
    booking = visible_booking(request.user, pk)
    accounts = list(accounts_chargeable_by(request.user).order_by("code"))
    form = PayersForm(request.POST, accounts=accounts)
    # Someone other than the requester has no accounts on the form: the service says why they may not.
    if form.is_valid() or booking.requester_id != request.user.pk:
        try:
            booking_change_payers(actor=request.user, booking_id=pk, splits=form.splits() if form.is_valid() else [])
        except REFUSALS as exc:
            attach(form, exc)
        else:
            messages.success(request, _("Booking #%(id)s is now paid as you set.") % {"id": pk})
            return redirect("frontend:booking", pk=pk)
    return _refused(request, pk, "can_change_payers", payers_form=form)


@_signed_in
def cancel(request, pk: int):
    """GET: the confirmation, stating what cancelling now costs (billing's own late-cancellation rule and
    arithmetic). POST: cancel (the same view the dashboard and console post to)."""
    if request.method == "POST":
        return dashboard.cancel(request, pk)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    booking = visible_booking(request.user, pk)
    user = request.user
    if booking.requester_id != user.pk and not (
        user.is_superuser or is_manager_of(user, booking.instrument.facility_id)
    ):
        raise PermissionDenied(
            _("You may not cancel booking #%(id)s: only its requester or the facility's managers may.") % {"id": pk}
        )
    quote = late_cancellation_quote(booking=booking, actor=user) if booking.can_cancel() else None
    codes = {s.account_id: s.account for s in booking.splits.all()}
    return render(
        request,
        "frontend/booking/cancel.html",
        {
            "booking": booking,
            "quote": quote,
            "fee_lines": [(codes.get(a), part) for a, part in quote.shares] if quote else [],
            "cancel_form": DecisionForm(),
            "nav": "dashboard" if booking.requester_id == user.pk else "",
        },
    )


@require_GET
@_signed_in
def booking_ics(request, pk: int):
    """The booking alone as an iCalendar file, to add to a calendar by hand."""
    booking = visible_booking(request.user, pk)
    user = request.user
    manager = user.is_superuser or is_manager_of(user, booking.instrument.facility_id)
    body = feeds.single_event(
        booking,
        audience="manager" if manager and booking.requester_id != user.pk else "requester",
        show_purpose=may_see_purpose(user, booking),
        language="zh-hans" if translation.get_language() == "zh-hans" else "en",
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="booking-{booking.pk}.ics"'
    response["Cache-Control"] = "private, no-cache"
    return response
