"""Weekly recurring bookings: one Booking per occurrence, all checked under the instrument's lock.

By default a series is all or nothing: if any occurrence breaks a rule or meets a held slot, nothing is
written and the 409 lists every occurrence that failed and why. With `skip_conflicts` the free
occurrences are booked and the others reported. Each occurrence is afterwards an ordinary booking:
cancel or move it alone.

Occurrences keep the same local wall time (Asia/Shanghai) every week; the platform's zone has no
daylight saving, but the arithmetic is done on local times so that would hold anyway.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict
from common.time import iso_local, local_tz
from facilities.models import Institution, Instrument, User

from .. import rules
from ..holds import lock_for_booking
from ..models import Booking, BookingSeries
from .requests import initial_status, requester_institution, resolve_splits
from .taking import take_slot

MAX_OCCURRENCES = 52
MAX_INTERVAL_WEEKS = 52


def occurrence_times(
    start: dt.datetime, end: dt.datetime, count: int, interval_weeks: int = 1
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The [start, end) of each occurrence, same local wall time every `interval_weeks` weeks."""
    tz = local_tz()
    s, e = start.astimezone(tz), end.astimezone(tz)
    out = []
    for n in range(count):
        step = dt.timedelta(weeks=n * interval_weeks)
        # Adding to an aware local datetime keeps the wall time; re-attaching the zone fixes the offset.
        out.append(((s + step).replace(tzinfo=tz), (e + step).replace(tzinfo=tz)))
    return out


def error_words(exc: Exception) -> str:
    if isinstance(exc, Conflict):
        return exc.detail
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc)


def hold_checked(
    *,
    instrument: Instrument,
    requester: User,
    institution: Institution,
    start: dt.datetime,
    end: dt.datetime,
    purpose: str,
    splits: list[dict] | None,
    now: dt.datetime,
    series: BookingSeries | None = None,
    bundle=None,
) -> Booking:
    """Everything booking_request checks, in its order, for one slot, inside the caller's transaction
    that already took `lock_for_booking` for the instrument and the accounts (qualification is the
    caller's: it does not change from slot to slot). Runs in a savepoint: a refusal leaves what the
    caller wrote before intact."""
    with transaction.atomic():
        rules.check_static_rules(instrument=instrument, start=start, end=end, now=now)
        specs = resolve_splits(requester=requester, splits=splits, day=timezone.localtime(start).date())
        return take_slot(
            instrument=instrument,
            requester=requester,
            institution=institution,
            start=start,
            end=end,
            status=initial_status(instrument=instrument, requester=requester, institution=institution),
            purpose=purpose,
            splits=specs,
            now=now,
            series=series,
            bundle=bundle,
        )


@dataclass
class SeriesResult:
    series: BookingSeries
    bookings: list[Booking]
    skipped: list[dict] = field(default_factory=list)


def _problem(n: int, start: dt.datetime, end: dt.datetime, exc: Exception) -> dict:
    item = {
        "occurrence": n,
        "start": iso_local(start),
        "end": iso_local(end),
        "code": exc.code if isinstance(exc, Conflict) else "rule_violation",
        "detail": error_words(exc),
    }
    if isinstance(exc, Conflict) and "conflicts" in exc.extra:
        item["conflicts"] = exc.extra["conflicts"]
    return item


def booking_series_request(
    *,
    requester: User,
    instrument: Instrument,
    start: dt.datetime,
    end: dt.datetime,
    count: int,
    interval_weeks: int = 1,
    purpose: str = "",
    splits: list[dict] | None = None,
    skip_conflicts: bool = False,
    now: dt.datetime | None = None,
) -> SeriesResult:
    """Book `count` weekly occurrences of [start, end). Raises ValidationError for a malformed request
    (400), Conflict `series_unavailable` with `occurrences` listing each failure (409)."""
    now = now or timezone.now()
    institution = requester_institution(requester)
    rules.check_times(start, end)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_OCCURRENCES:
        raise ValidationError(
            {
                "count": _("A series has from 1 to %(max_occurrences)s occurrences.")
                % {"max_occurrences": MAX_OCCURRENCES}
            }
        )
    if (
        isinstance(interval_weeks, bool)
        or not isinstance(interval_weeks, int)
        or not 1 <= interval_weeks <= MAX_INTERVAL_WEEKS
    ):
        raise ValidationError(
            {
                "interval_weeks": _("The interval is a whole number of weeks from 1 to %(max_interval_weeks)s.")
                % {"max_interval_weeks": MAX_INTERVAL_WEEKS}
            }
        )
    rules.check_purpose(purpose)
    rules.check_qualification(instrument=instrument, requester=requester)
    # Splits that are wrong whatever the day (an account one may not charge, percents not adding up) are
    # the request's fault, not an occurrence's: refuse them once, as a 400.
    specs = resolve_splits(requester=requester, splits=splits, day=timezone.localtime(start).date())
    times = occurrence_times(start, end, count, interval_weeks)
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk], accounts=[s.account for s in specs])
        series = BookingSeries.objects.create(
            requester=requester, instrument=instrument, interval_weeks=interval_weeks, count=count
        )
        booked: list[Booking] = []
        problems: list[dict] = []
        for n, (s, e) in enumerate(times, start=1):
            try:
                booked.append(
                    hold_checked(
                        instrument=instrument,
                        requester=requester,
                        institution=institution,
                        start=s,
                        end=e,
                        purpose=purpose,
                        splits=splits,
                        now=now,
                        series=series,
                    )
                )
            except (ValidationError, Conflict) as exc:
                problems.append(_problem(n, s, e, exc))
        if problems and (not skip_conflicts or not booked):
            failed = ", ".join(str(p["occurrence"]) for p in problems)
            raise Conflict(
                "series_unavailable",
                (
                    _("%(len)s of %(count)s occurrences cannot be booked (occurrence %(failed)s); nothing was booked. ")
                    % {"len": len(problems), "count": count, "failed": failed}
                )
                + (
                    _("None of them is free.")
                    if skip_conflicts
                    else _("Pick other times, or ask to skip the ones that are taken.")
                ),
                occurrences=problems,
            )
    return SeriesResult(series=series, bookings=booked, skipped=problems)
