"""Who is told what, and the once-only delivery record.

Every mail goes through `_claim` → send → mark: the NotificationLog row with the message's unique key is
written (committed) before sending, so two runs of the same task race on the unique key and only one
sends. A failed send leaves the row `failed` for `retry_failed_notifications`; a claim left `pending` by a
process that died mid-send becomes claimable again after NOTIFICATION_STALE_CLAIM_MINUTES. That is the
price of never mailing twice: a crash between the SMTP server accepting and the row being marked can,
after the stale delay, send that one message again; nothing else can.
"""

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from facilities.models import User
from facilities.models.tenants import Role
from facilities.selectors import managed_facility_ids

from .. import feeds
from ..holds import HELD_STATUSES
from ..models import Booking, BookingEvent, NotificationLog, WaitlistEntry
from ..models.notifications import NotificationKind
from .mail import booking_page_url, build_message, language_of, site_url, span_text
from .preferences import digest_user_ids

log = logging.getLogger(__name__)

Kind = NotificationLog.Kind
LogStatus = NotificationLog.Status
# The calendar message each kind carries to the requester (RFC 5546 method), if any.
ITIP_METHOD: dict[str, str] = {
    Kind.REQUEST_RECEIVED: "REQUEST",
    Kind.APPROVED: "REQUEST",
    Kind.MOVED: "REQUEST",
    Kind.REJECTED: "CANCEL",
    Kind.CANCELLED: "CANCEL",
}


# Kinds mailed to a facility's managers, who are linked to their console rather than the requester's page.
MANAGER_KINDS = (Kind.NEW_REQUEST, Kind.RELEASED)


def kinds_for_event(event: str, status: str) -> list[NotificationKind]:
    """The notifications a booking_changed event calls for."""
    if event == "requested":
        # A booking approved on creation also announces "requested"; only the approval is news then.
        return [Kind.REQUEST_RECEIVED, Kind.NEW_REQUEST] if status == Booking.Status.REQUESTED else []
    if event == "moved":
        # A requester's move of an approved booking sends it back for approval: the managers must decide anew.
        return [Kind.MOVED, Kind.NEW_REQUEST] if status == Booking.Status.REQUESTED else [Kind.MOVED]
    return {
        "approved": [Kind.APPROVED],
        "rejected": [Kind.REJECTED],
        "cancelled": [Kind.CANCELLED, Kind.RELEASED],
    }.get(event, [])


def is_current(kind: str, booking: Booking, sequence: int, now: dt.datetime) -> bool:
    """Whether the message still says something true. A superseded one is dropped: the later change
    sends its own message (and a calendar would ignore an older SEQUENCE anyway)."""
    same = booking.sequence == sequence
    match kind:
        case Kind.REQUEST_RECEIVED:
            return same and booking.status == Booking.Status.REQUESTED
        case Kind.APPROVED:
            return same and booking.status == Booking.Status.APPROVED
        case Kind.MOVED:
            return same and booking.status in HELD_STATUSES
        case Kind.NEW_REQUEST:
            return same and booking.status == Booking.Status.REQUESTED
        case Kind.REJECTED | Kind.CANCELLED:
            return booking.status == kind
        case Kind.RELEASED:
            return booking.status == Booking.Status.CANCELLED
        case Kind.REMINDER:
            return same and booking.status == Booking.Status.APPROVED and booking.start > now
    return False


def facility_managers(facility_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, memberships__role=Role.FACILITY_MANAGER, memberships__facilities__id=facility_id
        )
        .distinct()
        .order_by("pk")
    )


def _cancellation(booking: Booking) -> BookingEvent | None:
    return (
        BookingEvent.objects.filter(booking=booking, to_status=Booking.Status.CANCELLED).order_by("-at", "-id").first()
    )


def recipients_for(kind: str, booking: Booking) -> list[User]:
    if kind == Kind.NEW_REQUEST:
        managers = facility_managers(booking.instrument.facility_id)
        digesting = digest_user_ids(m.pk for m in managers)
        return [m for m in managers if m.pk not in digesting]
    if kind == Kind.RELEASED:
        # The facility hears when a requester gives time back; when the facility cancelled, it knows.
        event = _cancellation(booking)
        if event is None or event.actor_id != booking.requester_id:
            return []
        return facility_managers(booking.instrument.facility_id)
    return [booking.requester]


# --- the delivery record ----------------------------------------------------------------------------


def _claim(
    *,
    key: str,
    kind: str,
    recipient: User,
    now: dt.datetime,
    sequence: int = 0,
    booking: Booking | None = None,
    entry: WaitlistEntry | None = None,
    via_digest: bool = False,
) -> NotificationLog | None:
    """Take the right to send `key`, or None when it was sent, is being sent, or has failed too often."""
    try:
        with transaction.atomic():
            return NotificationLog.objects.create(
                key=key,
                kind=kind,
                recipient=recipient,
                booking=booking,
                waitlist_entry=entry,
                sequence=sequence,
                via_digest=via_digest,
                status=LogStatus.PENDING,
                attempts=1,
                claimed_at=now,
            )
    except IntegrityError:
        pass
    stale = now - dt.timedelta(minutes=settings.NOTIFICATION_STALE_CLAIM_MINUTES)
    # One conditional UPDATE: of two concurrent reclaimers only one matches the row.
    taken = (
        NotificationLog.objects.filter(key=key)
        .filter(
            Q(status=LogStatus.FAILED, attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS)
            | Q(status=LogStatus.PENDING, claimed_at__lt=stale, attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS)
        )
        .update(status=LogStatus.PENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return NotificationLog.objects.get(key=key) if taken else None


def _send(rows: list[NotificationLog], make_message, *, release_on_failure: bool = False) -> bool:
    """Build (inside the guard: a broken template counts as a failed send) and send one message."""
    ids = [r.pk for r in rows]
    try:
        make_message().send(fail_silently=False)
    except Exception as exc:  # any transport error: record it, the retry sweep tries again
        log.warning("Sending %s failed: %s", ", ".join(r.key for r in rows), exc)
        if release_on_failure:
            NotificationLog.objects.filter(pk__in=ids).delete()
        else:
            NotificationLog.objects.filter(pk__in=ids).update(status=LogStatus.FAILED, error=str(exc)[:2000])
        return False
    NotificationLog.objects.filter(pk__in=ids).update(status=LogStatus.SENT, sent_at=timezone.now(), error="")
    return True


def _skip(rows: list[NotificationLog], why: str) -> None:
    NotificationLog.objects.filter(pk__in=[r.pk for r in rows]).update(status=LogStatus.SKIPPED, error=why)


# --- booking notifications --------------------------------------------------------------------------


def _load(booking_id: int) -> Booking | None:
    return (
        Booking.objects.select_related("instrument", "instrument__facility", "requester", "institution")
        .filter(pk=booking_id)
        .first()
    )


def booking_context(booking: Booking, kind: str) -> dict:
    context = {
        "booking": booking,
        "instrument": booking.instrument,
        "facility": booking.instrument.facility,
        "when": span_text(booking.start, booking.end),
        "booking_url": booking_page_url(booking.pk, "manager" if kind in MANAGER_KINDS else "requester"),
        "reminder_hours": settings.REMINDER_HOURS_BEFORE,
    }
    if kind in (Kind.REJECTED, Kind.CANCELLED, Kind.RELEASED):
        event = BookingEvent.objects.filter(booking=booking, to_status=booking.status).order_by("-at", "-id").first()
        context["reason"] = event.reason if event else ""
        context["by_system"] = event is not None and event.actor_id is None
        context["by_requester"] = event is not None and event.actor_id == booking.requester_id
    return context


def booking_message(kind: str, booking: Booking, recipient: User):
    method = ITIP_METHOD.get(kind) if recipient.pk == booking.requester_id else None
    ics = feeds.invitation(booking, method=method, language=language_of(recipient)) if method else None
    return build_message(recipient=recipient, kind=kind, context=booking_context(booking, kind), ics=ics, method=method)


def imported_through(booking: Booking) -> int:
    """The last sequence a history import wrote for this booking, or -1 for a booking made here."""
    data = BookingEvent.objects.filter(booking=booking, from_status="").values_list("data", flat=True).first()
    value = data.get(BookingEvent.IMPORTED_THROUGH) if isinstance(data, dict) else None
    return value if isinstance(value, int) else -1


def deliver_booking_notification(
    *, kind: str, booking_id: int, sequence: int, recipient_id: int | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Send `kind` about the booking (as it was at `sequence`) to its recipients, each at most once."""
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "duplicate": 0, "superseded": 0}
    booking = _load(booking_id)
    if booking is None:
        return counts
    if kind != Kind.REMINDER and sequence <= imported_through(booking):
        counts["history"] = 1
        return counts
    if not is_current(kind, booking, sequence, now):
        # Stop retrying a failed copy of a message that no longer holds.
        NotificationLog.objects.filter(booking=booking, kind=kind, sequence=sequence, status=LogStatus.FAILED).update(
            status=LogStatus.SKIPPED, error="superseded by a later change"
        )
        counts["superseded"] += 1
        return counts
    if recipient_id is not None:
        recipients = list(User.objects.filter(pk=recipient_id))
    else:
        recipients = recipients_for(kind, booking)
    for recipient in recipients:
        key = NotificationLog.make_key(kind, f"booking-{booking.pk}", sequence, recipient.pk)
        row = _claim(key=key, kind=kind, recipient=recipient, now=now, sequence=sequence, booking=booking)
        if row is None:
            counts["duplicate"] += 1
        elif not recipient.email:
            _skip([row], "no email address")
            counts["skipped"] += 1
        else:
            ok = _send([row], partial(booking_message, kind, booking, recipient))
            counts["sent" if ok else "failed"] += 1
    return counts


def due_reminders(now: dt.datetime):
    """Approved bookings starting within REMINDER_HOURS_BEFORE that have no reminder for their current
    times yet: everything due, however long the sweep was down."""
    horizon = now + dt.timedelta(hours=settings.REMINDER_HOURS_BEFORE)
    reminded = NotificationLog.objects.filter(
        booking=OuterRef("pk"), kind=Kind.REMINDER, sequence=OuterRef("sequence"), recipient=OuterRef("requester")
    )
    return (
        Booking.objects.filter(status=Booking.Status.APPROVED, start__gt=now, start__lte=horizon)
        .exclude(Exists(reminded))
        .order_by("start", "pk")
        .values_list("pk", "sequence")
    )


def send_reminders(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    sent = 0
    for booking_id, sequence in due_reminders(now):
        sent += deliver_booking_notification(kind=Kind.REMINDER, booking_id=booking_id, sequence=sequence, now=now)[
            "sent"
        ]
    return sent


# --- manager digest ---------------------------------------------------------------------------------


def digest_managers() -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, notification_preference__manager_digest=True, memberships__role=Role.FACILITY_MANAGER
        )
        .distinct()
        .order_by("pk")
    )


def send_digest(*, manager: User, now: dt.datetime | None = None) -> int:
    """One mail listing every pending request at the manager's facilities not yet told to them (by a
    digest or a single mail). Returns how many requests it listed."""
    now = now or timezone.now()
    told = NotificationLog.objects.filter(
        booking=OuterRef("pk"), kind=Kind.NEW_REQUEST, recipient=manager, sequence=OuterRef("sequence")
    )
    pending = list(
        Booking.objects.filter(
            status=Booking.Status.REQUESTED, instrument__facility_id__in=managed_facility_ids(manager), start__gt=now
        )
        .exclude(Exists(told))
        .select_related("instrument", "instrument__facility", "requester", "institution")
        .order_by("start", "pk")
    )
    claimed: list[tuple[NotificationLog, Booking]] = []
    for b in pending:
        key = NotificationLog.make_key(Kind.NEW_REQUEST, f"booking-{b.pk}", b.sequence, manager.pk)
        row = _claim(
            key=key, kind=Kind.NEW_REQUEST, recipient=manager, now=now, sequence=b.sequence, booking=b, via_digest=True
        )
        if row is not None:
            claimed.append((row, b))
    if not claimed:
        return 0
    rows = [r for r, _ in claimed]
    if not manager.email:
        _skip(rows, "no email address")
        return 0
    items = [
        {"booking": b, "when": span_text(b.start, b.end), "url": booking_page_url(b.pk, "manager")} for _, b in claimed
    ]
    message = partial(build_message, recipient=manager, kind="digest", context={"items": items, "count": len(items)})
    # A failed digest gives its items back, so the next digest lists them again.
    return len(items) if _send(rows, message, release_on_failure=True) else 0


def send_manager_digests(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(send_digest(manager=m, now=now) for m in digest_managers())


# --- waitlist ---------------------------------------------------------------------------------------


def deliver_waitlist_offer(*, entry_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "duplicate": 0, "superseded": 0}
    entry = (
        WaitlistEntry.objects.select_related("instrument", "instrument__facility", "user").filter(pk=entry_id).first()
    )
    if entry is None:
        return counts
    if entry.status != WaitlistEntry.Status.OFFERED or (entry.offer_expires_at and entry.offer_expires_at <= now):
        NotificationLog.objects.filter(waitlist_entry=entry, status=LogStatus.FAILED).update(
            status=LogStatus.SKIPPED, error="the offer is no longer open"
        )
        counts["superseded"] += 1
        return counts
    key = NotificationLog.make_key(Kind.WAITLIST_OFFER, f"waitlist-{entry.pk}", 0, entry.user_id)
    row = _claim(key=key, kind=Kind.WAITLIST_OFFER, recipient=entry.user, now=now, entry=entry)
    if row is None:
        counts["duplicate"] += 1
        return counts
    if not entry.user.email:
        _skip([row], "no email address")
        counts["skipped"] += 1
        return counts
    context = {
        "entry": entry,
        "instrument": entry.instrument,
        "facility": entry.instrument.facility,
        "when": span_text(entry.start, entry.end),
        "expires": timezone.localtime(entry.offer_expires_at).strftime("%Y-%m-%d %H:%M")
        if entry.offer_expires_at
        else "",
        "waitlist_url": site_url() + settings.BOOKING_PAGE_URLS["dashboard"],
    }
    ok = _send([row], partial(build_message, recipient=entry.user, kind=Kind.WAITLIST_OFFER, context=context))
    counts["sent" if ok else "failed"] += 1
    return counts


# --- retries ----------------------------------------------------------------------------------------


def retry_failed_notifications(*, now: dt.datetime | None = None) -> int:
    """Send again what failed (up to NOTIFICATION_MAX_ATTEMPTS) or was left pending by a dead process."""
    now = now or timezone.now()
    stale = now - dt.timedelta(minutes=settings.NOTIFICATION_STALE_CLAIM_MINUTES)
    unfinished = Q(status=LogStatus.PENDING, claimed_at__lt=stale, attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS)
    # Digest items are not resent one by one: releasing them puts them in the next digest.
    NotificationLog.objects.filter(via_digest=True).filter(unfinished | Q(status=LogStatus.FAILED)).delete()
    rows = list(
        NotificationLog.objects.filter(via_digest=False)
        .filter(unfinished | Q(status=LogStatus.FAILED, attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS))
        .values_list("kind", "booking_id", "waitlist_entry_id", "sequence", "recipient_id", "key")
    )
    sent = 0
    for kind, booking_id, entry_id, sequence, recipient_id, key in rows:
        if kind in FLAG_KINDS:  # key "flagged:flag-12:0:7": about the flag, not the booking's sequence
            sent += deliver_flag_notification(flag_id=int(key.split(":")[1].removeprefix("flag-")), now=now)["sent"]
        elif booking_id is not None:
            sent += deliver_booking_notification(
                kind=kind, booking_id=booking_id, sequence=sequence, recipient_id=recipient_id, now=now
            )["sent"]
        elif entry_id is not None:
            sent += deliver_waitlist_offer(entry_id=entry_id, now=now)["sent"]
    return sent


# --- bookings in closed time --------------------------------------------------------------------------

FLAG_KINDS = (Kind.FLAGGED, Kind.FLAGGED_MANAGER, Kind.FLAG_KEPT)


def deliver_flag_notification(*, flag_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Tell about a calendar flag, each message at most once: while it is open, the requester
    (`flagged`) and the facility's managers (`flagged_manager`); once kept, the requester (`flag_kept`).
    A move or a cancellation sends the booking's own message."""
    from ..models import CalendarFlag

    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "duplicate": 0, "superseded": 0}
    flag = CalendarFlag.objects.filter(pk=flag_id).first()
    booking = _load(flag.booking_id) if flag else None
    if flag is None or booking is None:
        return counts
    if flag.status == CalendarFlag.Status.OPEN and booking.status in HELD_STATUSES:
        plan = [(Kind.FLAGGED, [booking.requester])]
        plan.append((Kind.FLAGGED_MANAGER, facility_managers(booking.instrument.facility_id)))
    elif flag.status == CalendarFlag.Status.KEPT and booking.status in HELD_STATUSES:
        plan = [(Kind.FLAG_KEPT, [booking.requester])]
    else:
        counts["superseded"] += 1
        return counts
    for kind, people in plan:
        audience = "manager" if kind == Kind.FLAGGED_MANAGER else "requester"
        context = {
            **booking_context(booking, kind),
            "flag": flag,
            "booking_url": booking_page_url(booking.pk, audience),
        }
        for recipient in people:
            key = NotificationLog.make_key(kind, f"flag-{flag.pk}", 0, recipient.pk)
            row = _claim(key=key, kind=kind, recipient=recipient, now=now, booking=booking)
            if row is None:
                counts["duplicate"] += 1
            elif not recipient.email:
                _skip([row], "no email address")
                counts["skipped"] += 1
            else:
                message = partial(build_message, recipient=recipient, kind=kind, context=context)
                counts["sent" if _send([row], message) else "failed"] += 1
    return counts
