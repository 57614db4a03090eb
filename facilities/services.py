"""Writes to the catalog. Calendar changes raise the instrument's availability version in the same
transaction and announce it only after commit."""

import datetime as dt
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import records_actor
from common.errors import Conflict
from common.time import local_tz

from . import qualification_mail
from .credentials import revoke_all_tokens
from .holidays import check_days, package_schedules
from .models import (
    ApiToken,
    Closure,
    Facility,
    HolidayDay,
    HolidaySchedule,
    Institution,
    Instrument,
    OperatingHours,
    Qualification,
    QualificationRequest,
    RateCard,
    TimeShare,
    User,
)
from .models.tenants import new_calendar_token
from .selectors import current_qualifications, is_manager_of
from .signals import availability_changed, calendar_changed, person_anonymised

# How far ahead a change of weekly hours can reach: further than any booking horizon.
HOURS_CHANGE_REACH = dt.timedelta(days=3660)


def bump_versions(*, instrument_ids: list[int], reason: str) -> dict[int, int]:
    """Raise the availability version of each instrument inside the caller's transaction, and announce
    the new versions once it commits. Returns {instrument_id: new_version}."""
    ids = sorted(set(instrument_ids))
    if not ids:
        return {}
    if len(ids) > 1:
        # Lock in id order first (as the booking path does), so a facility-wide closure and a booking
        # never wait on each other in a cycle. One row needs no order: the UPDATE locks it.
        list(Instrument.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    if connection.features.can_return_columns_from_insert:  # RETURNING: PostgreSQL, SQLite 3.35+
        # Raw SQL because the ORM's update() returns a row count, not the new values: one
        # UPDATE … RETURNING raises and reads the versions in one round trip, under the row lock.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Instrument._meta.db_table} SET availability_version = availability_version + 1"
                f" WHERE id IN ({', '.join(['%s'] * len(ids))}) RETURNING id, availability_version",
                ids,
            )
            versions = dict(cursor.fetchall())
    else:
        Instrument.objects.filter(pk__in=ids).update(availability_version=F("availability_version") + 1)
        versions = dict(Instrument.objects.filter(pk__in=ids).values_list("pk", "availability_version"))
    for pk, version in versions.items():
        transaction.on_commit(
            partial(availability_changed.send, sender=Instrument, instrument_id=pk, version=version, reason=reason)
        )
    return versions


def announce_calendar_change(*, instrument_ids: list[int], start: dt.datetime, end: dt.datetime, reason: str) -> None:
    """Inside the caller's transaction: once it commits, tell the layers above that time may have closed
    on these instruments within [start, end) (facilities.signals.calendar_changed)."""
    ids = sorted(set(instrument_ids))
    if ids:
        transaction.on_commit(
            partial(calendar_changed.send, sender=Instrument, instrument_ids=ids, start=start, end=end, reason=reason)
        )


def operating_hours_changed(*, facility: Facility, instrument: Instrument | None) -> None:
    """Inside the caller's transaction, after weekly hours of the facility (or of one instrument) were
    written or removed: raise the versions and announce the change from now on."""
    ids = _affected_instruments(facility, instrument)
    bump_versions(instrument_ids=ids, reason="hours_changed")
    now = timezone.now()
    announce_calendar_change(instrument_ids=ids, start=now, end=now + HOURS_CHANGE_REACH, reason="hours_changed")


def _affected_instruments(facility: Facility, instrument: Instrument | None) -> list[int]:
    if instrument is not None:
        return [instrument.pk]
    return list(facility.instruments.values_list("pk", flat=True))


def _require_manager(user: User, facility: Facility) -> None:
    if not (user.is_superuser or is_manager_of(user, facility.pk)):
        raise PermissionDenied(_("Only this facility's managers may do that."))


@records_actor
def closure_add(
    *,
    actor: User,
    facility: Facility,
    start: dt.datetime,
    end: dt.datetime,
    kind: str = Closure.Kind.MAINTENANCE,
    reason: str = "",
    instrument: Instrument | None = None,
) -> Closure:
    _require_manager(actor, facility)
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError(_("Closure times must carry a UTC offset."))
    closure = Closure(facility=facility, instrument=instrument, start=start, end=end, kind=kind, reason=reason)
    closure.full_clean()
    with transaction.atomic():
        closure.save()
        ids = _affected_instruments(facility, instrument)
        bump_versions(instrument_ids=ids, reason="closure_added")
        announce_calendar_change(instrument_ids=ids, start=start, end=end, reason="closure_added")
    return closure


@records_actor
def closure_remove(*, actor: User, closure: Closure) -> None:
    _require_manager(actor, closure.facility)
    with transaction.atomic():
        affected = _affected_instruments(closure.facility, closure.instrument)
        closure.delete()
        bump_versions(instrument_ids=affected, reason="closure_removed")


@records_actor
def qualification_grant(
    *, actor: User, user: User, instrument: Instrument, expires_on: dt.date | None = None, keep_expiry: bool = True
) -> Qualification:
    """Qualify `user` on `instrument`, until the end of `expires_on` (a local day) or until revoked.
    A current qualification is kept (keep_expiry) or given the new expiry (a renewal); one that lapsed
    is closed (revoked at its expiry) and a new one granted."""
    _require_manager(actor, instrument.facility)
    expires_at = qualification_expiry(expires_on)
    with transaction.atomic():
        existing = (
            Qualification.objects.select_for_update()
            .filter(user=user, instrument=instrument, revoked_at__isnull=True)
            .first()
        )
        now = timezone.now()
        if existing and existing.is_current(now):
            if not keep_expiry and existing.expires_at != expires_at:
                existing.expires_at = expires_at
                existing.granted_by = actor
                existing.save(update_fields=["expires_at", "granted_by"])
            return existing
        if existing:  # lapsed: on the record as ended when it lapsed
            existing.revoked_at = existing.expires_at
            existing.save(update_fields=["revoked_at"])
        return Qualification.objects.create(user=user, instrument=instrument, granted_by=actor, expires_at=expires_at)


def qualification_expiry(expires_on: dt.date | None) -> dt.datetime | None:
    """The moment a qualification ending with the local day `expires_on` lapses: the next midnight."""
    if expires_on is None:
        return None
    if expires_on < timezone.localdate():
        raise ValidationError(
            {"expires_on": _("The last day of a qualification cannot be in the past (%(day)s).") % {"day": expires_on}}
        )
    if expires_on > timezone.localdate() + dt.timedelta(days=3660):
        raise ValidationError({"expires_on": _("A qualification may run at most ten years.")})
    return dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time.min, tzinfo=local_tz())


@records_actor
def qualification_request_create(*, actor: User, instrument_id: int, note: str = "") -> QualificationRequest:
    """The signed-in person asks to be qualified on an instrument that asks for it. Asking again while
    a request waits returns that request; someone already qualified is told so (409)."""
    with transaction.atomic():
        # The instrument's row serialises two requests of one person (the constraint backs it up).
        instrument = (
            Instrument.objects.select_for_update(of=("self",))
            .select_related("facility")
            .filter(pk=instrument_id, active=True)
            .first()
        )
        if instrument is None:
            raise Http404(_("No such instrument."))
        if not instrument.requires_qualification:
            raise ValidationError(
                {
                    "instrument": _("%(code)s does not ask for a qualification: book it directly.")
                    % {"code": instrument.code}
                }
            )
        if current_qualifications().filter(user=actor, instrument=instrument).exists():
            raise Conflict("already_qualified", _("You are already qualified on %(code)s.") % {"code": instrument.code})
        pending = QualificationRequest.objects.filter(
            user=actor, instrument=instrument, status=QualificationRequest.Status.PENDING
        ).first()
        if pending:
            return pending
        request = QualificationRequest(user=actor, instrument=instrument, note=note.strip())
        request.full_clean()
        request.save()
        transaction.on_commit(partial(qualification_mail.request_received, request.pk))
    return request


def _locked_pending(actor: User, request_id: int) -> QualificationRequest:
    request = (
        QualificationRequest.objects.select_for_update(of=("self",))
        .select_related("instrument__facility", "user")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise Http404(_("No such qualification request."))
    if not (actor.is_superuser or is_manager_of(actor, request.instrument.facility_id)):
        raise PermissionDenied(
            _("Only the managers of %(code)s decide its qualifications.") % {"code": request.instrument.facility.code}
        )
    if not request.is_pending:
        raise Conflict(
            "invalid_transition",
            _("This request is already decided (%(status)s).") % {"status": request.get_status_display()},
        )
    return request


@records_actor
def qualification_request_grant(
    *, actor: User, request_id: int, expires_on: dt.date | None = None
) -> QualificationRequest:
    """A manager of the instrument's facility grants a pending request, until the end of `expires_on`
    or until revoked; the person is mailed, and may book at once."""
    with transaction.atomic():
        request = _locked_pending(actor, request_id)
        request.qualification = qualification_grant(
            actor=actor, user=request.user, instrument=request.instrument, expires_on=expires_on, keep_expiry=False
        )
        request.status = QualificationRequest.Status.GRANTED
        request.decided_at = timezone.now()
        request.decided_by = actor
        request.save(update_fields=["qualification", "status", "decided_at", "decided_by"])
        transaction.on_commit(partial(qualification_mail.request_decided, request.pk))
    return request


@records_actor
def qualification_request_decline(*, actor: User, request_id: int, reason: str) -> QualificationRequest:
    """A manager declines a pending request, saying why (the person is mailed the reason)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the request is declined; the person is told.")})
    with transaction.atomic():
        request = _locked_pending(actor, request_id)
        request.status = QualificationRequest.Status.DECLINED
        request.decided_at = timezone.now()
        request.decided_by = actor
        request.reason = reason
        request.full_clean()
        request.save(update_fields=["status", "decided_at", "decided_by", "reason"])
        transaction.on_commit(partial(qualification_mail.request_decided, request.pk))
    return request


def remind_lapsing_qualifications(*, now: dt.datetime | None = None, qualification_ids: list[int] | None = None) -> int:
    """Mail each holder whose qualification lapses within QUALIFICATION_REMINDER_DAYS, once per expiry
    (Qualification.reminded_for); everything due by `now`, so a missed run is made up by the next, and
    two runs at once mail nobody twice (each row is claimed under its lock before the mail is queued)."""
    now = now or timezone.now()
    due = Qualification.objects.filter(
        revoked_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + dt.timedelta(days=settings.QUALIFICATION_REMINDER_DAYS),
    ).exclude(reminded_for=F("expires_at"))
    if qualification_ids is not None:
        due = due.filter(pk__in=qualification_ids)
    sent = 0
    for pk in due.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            q = Qualification.objects.select_for_update().filter(pk=pk).first()
            if q is None or not q.is_current(now) or q.expires_at is None or q.reminded_for == q.expires_at:
                continue
            q.reminded_for = q.expires_at
            q.save(update_fields=["reminded_for"])
            transaction.on_commit(partial(qualification_mail.lapsing, q.pk))
            sent += 1
    return sent


@records_actor
def qualification_revoke(*, actor: User, user: User, instrument: Instrument) -> int:
    _require_manager(actor, instrument.facility)
    # Row by row, not one UPDATE, so that each revocation reaches the audit trail.
    with transaction.atomic():
        active = list(
            Qualification.objects.select_for_update().filter(user=user, instrument=instrument, revoked_at__isnull=True)
        )
        now = timezone.now()
        for qualification in active:
            qualification.revoked_at = now
            qualification.save(update_fields=["revoked_at"])
    return len(active)


def pseudonym_for(user: User) -> str:
    """Stable: the same person always gets the same pseudonym, and no two people share one."""
    return f"former-user-{user.pk}"


@records_actor
def person_anonymise(*, actor: User, user_id: int) -> User:
    """PIPL: a platform administrator anonymises a departed person (docs/audit.md#anonymising-a-person).

    Name, e-mail and username become a stable pseudonym; the password becomes unusable; the account is
    deactivated and loses staff and administrator rights; API tokens are revoked and the calendar feed's
    token is replaced. Bookings, splits, charges, invoices and memberships stay, so totals do not move;
    each layer scrubs the rest on `person_anonymised` (purposes of bookings, the audit trail's names).
    Anonymising someone twice changes nothing."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("Only platform administrators may anonymise a person."))
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise Http404(_("No such person."))
        if user.pk == actor.pk:
            raise ValidationError(_("You cannot anonymise your own account."))
        if user.anonymised_at is not None:
            return user
        former_username = user.username
        pseudonym = pseudonym_for(user)
        user.username = pseudonym
        user.first_name = pseudonym
        user.last_name = ""
        user.email = f"{pseudonym}@anonymised.invalid"
        user.set_unusable_password()
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.calendar_token = new_calendar_token()
        user.anonymised_at = timezone.now()
        user.save()
        # Deactivation revokes the tokens too (facilities.credentials); said here so anonymising never
        # depends on that hook. Each revocation is in the audit trail.
        revoke_all_tokens(user_id=user.pk, because=ApiToken.RevokedBecause.DEACTIVATED, by=actor)
        # What they wrote when asking for a qualification may name them; the requests themselves stay.
        for request in QualificationRequest.objects.filter(user=user).exclude(note=""):
            request.note = ""
            request.save(update_fields=["note"])
        person_anonymised.send(sender=User, user=user, former_username=former_username)
    return user


# --- China's public-holiday calendar ----------------------------------------------------------------


def _office_instruments() -> list[int]:
    return list(Instrument.objects.filter(facility__follows_office_calendar=True).values_list("pk", flat=True))


def _year_span(year: int) -> tuple[dt.datetime, dt.datetime]:
    tz = local_tz()
    return dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz)


def _require_platform_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("Only platform administrators may change the public-holiday calendar."))


def holiday_schedule_set(
    *,
    actor: User | None,
    year: int,
    days: list[tuple[dt.date, str, str]],
    notice: str = "",
    source: str = HolidaySchedule.Source.OFFICIAL,
) -> HolidaySchedule:
    """Make `days` — (date, 'holiday' | 'workday', festival) — the whole public-holiday schedule of
    `year`, replacing what was there (the provisional statutory days, or an earlier schedule). Every
    office-calendar instrument's availability changes; held bookings that now fall on a day off are
    flagged by the booking layer. `actor=None` is the system (the data migration, the package loader)."""
    _require_platform_admin(actor)
    if not days:
        raise ValidationError(_("A year's schedule has at least one public holiday."))
    if any(d.year != year for d, _k, _f in days):
        raise ValidationError(_("Every day of the %(year)s schedule must be in %(year)s.") % {"year": year})
    check_days(days)
    with transaction.atomic():
        schedule, _created = HolidaySchedule.objects.select_for_update().get_or_create(year=year)
        schedule.source, schedule.notice, schedule.entered_by = source, notice[:300], actor
        schedule.full_clean()
        schedule.save()
        schedule.days.all().delete()
        HolidayDay.objects.bulk_create(
            HolidayDay(schedule=schedule, date=d, kind=kind, festival=festival) for d, kind, festival in days
        )
        ids = _office_instruments()
        bump_versions(instrument_ids=ids, reason="holidays_changed")
        start, end = _year_span(year)
        announce_calendar_change(instrument_ids=ids, start=start, end=end, reason="holidays_changed")
    return schedule


def holiday_schedule_remove(*, actor: User | None, year: int) -> bool:
    """Forget `year`'s schedule: the statutory holidays apply again, provisionally."""
    _require_platform_admin(actor)
    with transaction.atomic():
        deleted, _by_model = HolidaySchedule.objects.filter(year=year).delete()
        if deleted:
            ids = _office_instruments()
            bump_versions(instrument_ids=ids, reason="holidays_changed")
            start, end = _year_span(year)
            announce_calendar_change(instrument_ids=ids, start=start, end=end, reason="holidays_changed")
    return bool(deleted)


def holidays_load_package(*, replace_package_years: bool = False) -> list[int]:
    """Load the years the installed chinesecalendar package knows and the database has no schedule for
    (with `replace_package_years`, also reload years loaded from the package before). A schedule entered
    by an administrator is never replaced. Returns the years written."""
    have = dict(HolidaySchedule.objects.values_list("year", "source"))
    written = []
    for year, days in package_schedules().items():
        source = have.get(year)
        if source is None or (replace_package_years and source == HolidaySchedule.Source.PACKAGE):
            holiday_schedule_set(actor=None, year=year, days=days, source=HolidaySchedule.Source.PACKAGE)
            written.append(year)
    return written


# The booking rules of an instrument a facility's managers may change (docs/frontend.md#managing-a-facility).
RULE_FIELDS = (
    "booking_unit_minutes",
    "min_minutes",
    "max_minutes",
    "lead_time_minutes",
    "horizon_days",
    "buffer_minutes",
    "requires_approval",
    "requires_qualification",
    "auto_approve_qualified",
    "auto_approve_host",
    "max_future_bookings",
)


@records_actor
def instrument_rules_update(*, actor: User, instrument_id: int, changes: dict) -> Instrument:
    """Change an instrument's booking rules and auto-approval. Only its facility's managers (and platform
    administrators) may; each change reaches the audit trail under the manager's name. Bookings already
    made keep their times; the new rules apply to requests and moves from now on. Raises Http404,
    PermissionDenied, ValidationError (a field that is not a rule, or a value the rules forbid)."""
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise ValidationError({name: _("This is not a booking rule a manager may change.") for name in unknown})
    with transaction.atomic():
        instrument = Instrument.objects.select_for_update().filter(pk=instrument_id).first()
        if instrument is None:
            raise Http404(_("No such instrument."))
        _require_manager(actor, instrument.facility)
        if not changes:
            return instrument
        for name, value in changes.items():
            setattr(instrument, name, value)
        instrument.full_clean(exclude=[f.name for f in Instrument._meta.fields if f.name not in RULE_FIELDS])
        instrument.save(update_fields=list(changes))
        bump_versions(instrument_ids=[instrument.pk], reason="rules_changed")
    return instrument


# --- What else a facility's managers set (docs/frontend.md#managing-a-facility) -------------------------
# Weekly hours, rates per user class and co-building partners' time shares. Each service checks that the
# actor manages the facility, locks what it changes, and leaves an audit entry under the actor's name
# (django-auditlog, registered in facilities/models). Hours change the calendar, so they raise the
# versions of the instruments they govern; rates and shares apply to requests from now on (a booking's
# rate is fixed when it is made, billing.services.rates.snapshot_rate).


def _locked_instrument(instrument_id: int) -> Instrument:
    instrument = Instrument.objects.select_for_update().select_related("facility").filter(pk=instrument_id).first()
    if instrument is None:
        raise Http404(_("No such instrument."))
    return instrument


@records_actor
def operating_hours_add(
    *,
    actor: User,
    facility: Facility,
    weekday: int,
    opens: dt.time,
    closes: dt.time,
    instrument: Instrument | None = None,
) -> OperatingHours:
    """Open the facility (or one instrument, whose own hours then replace the facility's) on `weekday`
    from `opens` to `closes`. Spans of one weekday and scope may not overlap."""
    _require_manager(actor, facility)
    if instrument is not None and instrument.facility_id != facility.pk:
        raise ValidationError({"instrument": _("The instrument must belong to this facility.")})
    if closes <= opens:
        raise ValidationError({"closes": _("Closing time must be after opening time.")})
    span = OperatingHours(facility=facility, instrument=instrument, weekday=weekday, opens=opens, closes=closes)
    span.full_clean()
    with transaction.atomic():
        Facility.objects.select_for_update().filter(pk=facility.pk).values_list("pk", flat=True).first()
        clash = OperatingHours.objects.filter(
            facility=facility, instrument=instrument, weekday=weekday, opens__lt=closes, closes__gt=opens
        ).first()
        if clash is not None:
            raise ValidationError(
                {"opens": _("This overlaps the opening span %(span)s of the same day.") % {"span": str(clash)}}
            )
        span.save()
        operating_hours_changed(facility=facility, instrument=instrument)
    return span


@records_actor
def operating_hours_remove(*, actor: User, hours_id: int) -> None:
    with transaction.atomic():
        # of=("self",): the instrument is an outer join (it may be empty), which PostgreSQL cannot lock.
        found = (
            OperatingHours.objects.select_for_update(of=("self",))
            .select_related("facility", "instrument")
            .filter(pk=hours_id)
            .first()
        )
        if found is None:
            raise Http404(_("No such opening span."))
        _require_manager(actor, found.facility)
        found.delete()
        operating_hours_changed(facility=found.facility, instrument=found.instrument)


@records_actor
def rate_set(*, actor: User, instrument_id: int, user_class: str, hourly_rate) -> RateCard:
    """Publish (or change) the hourly rate, in CNY, an instrument charges one class of user."""
    from decimal import Decimal, InvalidOperation

    from .models.catalog import UserClass

    if user_class not in UserClass.values:
        raise ValidationError({"user_class": _("Choose one of: %(v)s.") % {"v": ", ".join(UserClass.values)}})
    try:
        rate = Decimal(str(hourly_rate))
    except (InvalidOperation, ValueError):
        raise ValidationError({"hourly_rate": _("The rate must be a number of yuan.")}) from None
    if not rate.is_finite() or rate < 0 or rate != rate.quantize(Decimal("0.01")) or rate >= Decimal("1e10"):
        raise ValidationError(
            {"hourly_rate": _("The rate must be at least 0, below 10,000,000,000 and have at most 2 decimals.")}
        )
    with transaction.atomic():
        instrument = _locked_instrument(instrument_id)
        _require_manager(actor, instrument.facility)
        card = RateCard.objects.filter(instrument=instrument, user_class=user_class).first()
        if card is None:
            card = RateCard(instrument=instrument, user_class=user_class)
        elif card.hourly_rate == rate:
            return card
        card.hourly_rate = rate
        card.save()
    return card


@records_actor
def rate_remove(*, actor: User, instrument_id: int, user_class: str) -> bool:
    """Withdraw a published rate: the class then books the instrument free of charge."""
    with transaction.atomic():
        instrument = _locked_instrument(instrument_id)
        _require_manager(actor, instrument.facility)
        card = RateCard.objects.filter(instrument=instrument, user_class=user_class).first()
        if card is None:
            return False
        card.delete()
    return True


@records_actor
def time_share_set(*, actor: User, instrument_id: int, institution: Institution, percent) -> TimeShare:
    """Reserve `percent` of an instrument's available hours in each quarter for a co-building partner.
    The shares of one instrument add up to at most 100 %."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(str(percent))
    except (InvalidOperation, ValueError):
        raise ValidationError({"percent": _("The share must be a number of percent.")}) from None
    if not value.is_finite() or value <= 0 or value > 100 or value != value.quantize(Decimal("0.01")):
        raise ValidationError({"percent": _("A share is a percent above 0 and at most 100, with at most 2 decimals.")})
    with transaction.atomic():
        instrument = _locked_instrument(instrument_id)
        _require_manager(actor, instrument.facility)
        shares = {ts.institution_id: ts for ts in TimeShare.objects.filter(instrument=instrument)}
        others = sum((ts.percent for pk, ts in shares.items() if pk != institution.pk), Decimal("0"))
        if others + value > 100:
            raise ValidationError(
                {
                    "percent": _(
                        "The partners of %(code)s already keep %(others)s%%; at most %(left)s%% is left to share."
                    )
                    % {"code": instrument.code, "others": others, "left": Decimal("100") - others}
                }
            )
        share = shares.get(institution.pk) or TimeShare(instrument=instrument, institution=institution)
        if share.pk and share.percent == value:
            return share
        share.percent = value
        share.save()
    return share


@records_actor
def time_share_remove(*, actor: User, instrument_id: int, institution_id: int) -> bool:
    with transaction.atomic():
        instrument = _locked_instrument(instrument_id)
        _require_manager(actor, instrument.facility)
        share = TimeShare.objects.filter(instrument=instrument, institution_id=institution_id).first()
        if share is None:
            return False
        share.delete()
    return True
