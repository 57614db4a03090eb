"""The researcher's own bookings, with status changes arriving live over /ws/me/."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import JSONField, OuterRef, Subquery
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from booking.selectors import bookings_visible_to
from booking.services import booking_cancel
from common.errors import Conflict

from ..errors import messages_of
from ..forms import AppealForm, DecisionForm
from .access import role_required

PAGE = 50


def my_bookings(user):
    return (
        bookings_visible_to(user)
        .filter(requester=user)
        .select_related("instrument__facility")
        .prefetch_related("splits__account")
    )


def calendar_url(request) -> str | None:
    try:
        return request.build_absolute_uri(reverse("calendar:personal-feed", args=[request.user.calendar_token]))
    except NoReverseMatch:
        return None


def _open_flag_columns() -> dict:
    """The open calendar flag's reason, as columns of the booking's own query (no query per booking)."""
    from booking.models import CalendarFlag

    open_flag = CalendarFlag.objects.filter(booking=OuterRef("pk"), status=CalendarFlag.Status.OPEN)
    return {
        "flag_code": Subquery(open_flag.values("reason_code")[:1]),
        "flag_reason": Subquery(open_flag.values("reason")[:1]),
        "flag_params": Subquery(open_flag.values("reason_params")[:1], output_field=JSONField()),
    }


# The views of one's bookings besides "Upcoming" (which is always shown): ?show=past|cancelled|rejected.
ENDED_VIEWS = ("past", "cancelled", "rejected")


def shown_view(request) -> str:
    show = request.GET.get("show", "")
    return show if show in ENDED_VIEWS else "past"


def _tables(request):
    from booking.holds import HELD_STATUSES
    from booking.models import Booking, CalendarFlag, WaitlistEntry
    from booking.services.waitlist import entries_visible_to

    now = timezone.now()
    mine = my_bookings(request.user)
    # Upcoming: only what will happen — held (requested or approved) and not over.
    upcoming = list(
        mine.filter(status__in=HELD_STATUSES, end__gt=now).annotate(**_open_flag_columns()).order_by("start")[:PAGE]
    )
    for b in upcoming:
        # A calendar change put it in closed time; the facility has yet to keep, move or cancel it. The
        # reason is put in words here, in the reader's language.
        b.closed_why = (
            CalendarFlag(reason=b.flag_reason, reason_code=b.flag_code, reason_params=b.flag_params or {}).reason_text
            if b.flag_code
            else None
        )
    show = shown_view(request)
    ended = {
        # Past: the time is over and it was not called off (completed, no-show, or awaiting that record).
        "past": mine.filter(end__lte=now).exclude(status__in=[Booking.Status.CANCELLED, Booking.Status.REJECTED]),
        "cancelled": mine.filter(status=Booking.Status.CANCELLED),
        "rejected": mine.filter(status=Booking.Status.REJECTED),
    }[show]
    return {
        "upcoming": upcoming,
        "show": show,
        "ended": list(ended.order_by("-start")[:PAGE]),
        "waitlist": list(
            entries_visible_to(request.user)
            .filter(
                user=request.user,
                status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
                end__gt=now,
            )
            .order_by("start")[:PAGE]
        ),
    }


def _standing(request) -> dict:
    """One's own violations and suspensions (current, or with an appeal still pending)."""
    from usage.selectors import own_open_suspensions, own_violations

    now = timezone.now()
    return {
        "violations": list(own_violations(request.user)[:PAGE]),
        "suspensions": list(own_open_suspensions(request.user, now=now)[:PAGE]),
        "appeal_form": AppealForm(),
        "now": now,
    }


@role_required("researcher")
def dashboard(request):
    ctx = _tables(request)
    ctx.update(_standing(request))
    ctx.update(nav="dashboard", calendar_url=calendar_url(request), cancel_form=DecisionForm())
    return render(request, "frontend/researcher/dashboard.html", ctx)


@role_required("researcher")
def dashboard_bookings(request):
    """The tables alone, fetched again when the socket says something changed."""
    return render(
        request, "frontend/researcher/bookings_tables.html", {**_tables(request), "cancel_form": DecisionForm()}
    )


@require_POST
@role_required("researcher", "facility_manager", "platform_admin")
def cancel(request, pk: int):
    form = DecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        booking = booking_cancel(actor=request.user, booking_id=pk, reason=reason)
        messages.success(request, _("Booking #%(id)s is cancelled; the time is free again.") % {"id": booking.pk})
    except (ValidationError, Conflict) as exc:  # 403 and 404 pass on to their pages
        for _field, text in messages_of(exc):
            messages.error(request, text)
    nxt = request.POST.get("next") or ""
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = reverse("frontend:dashboard")
    return redirect(nxt)


@require_POST
@role_required("researcher")
def waitlist_action(request, pk: int, action: str):
    """Accept an offered slot (booked through the normal request path) or leave the waitlist."""
    from django.http import Http404

    from booking.services.waitlist import waitlist_accept, waitlist_withdraw

    try:
        if action == "accept":
            _entry, booking = waitlist_accept(user=request.user, entry_id=pk)
            messages.success(
                request,
                _("The offered time is yours: booking #%(id)s is %(status)s.")
                % {"id": booking.pk, "status": booking.get_status_display().lower()},
            )
        elif action == "withdraw":
            waitlist_withdraw(user=request.user, entry_id=pk)
            messages.success(request, _("You left the waitlist."))
        else:
            raise Http404(_("No such action."))
    except (ValidationError, Conflict) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
    return redirect("frontend:dashboard")


@require_POST
@role_required("researcher")
def suspension_appeal(request, pk: int):
    """Appeal one's own suspension, once (404 for anyone else's)."""
    from usage.services.violations import suspension_appeal as appeal

    form = AppealForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, str(text))
        return redirect("frontend:dashboard")
    try:
        appeal(user=request.user, suspension_id=pk, text=form.cleaned_data["text"])
        messages.success(request, _("Your appeal is sent; a manager of the facility decides and you will be told."))
    except (ValidationError, Conflict) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
    return redirect("frontend:dashboard")
