"""Writes to the catalog. Calendar changes raise the instrument's availability version in the same
transaction and announce it only after commit."""

import datetime as dt
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Closure, Facility, Instrument, Qualification, User
from .selectors import is_manager_of
from .signals import availability_changed


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


def _affected_instruments(facility: Facility, instrument: Instrument | None) -> list[int]:
    if instrument is not None:
        return [instrument.pk]
    return list(facility.instruments.values_list("pk", flat=True))


def _require_manager(user: User, facility: Facility) -> None:
    if not (user.is_superuser or is_manager_of(user, facility.pk)):
        raise PermissionDenied("Only this facility's managers may change its calendar.")


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
        raise ValidationError("Closure times must carry a UTC offset.")
    closure = Closure(facility=facility, instrument=instrument, start=start, end=end, kind=kind, reason=reason)
    closure.full_clean()
    with transaction.atomic():
        closure.save()
        bump_versions(instrument_ids=_affected_instruments(facility, instrument), reason="closure_added")
    return closure


def closure_remove(*, actor: User, closure: Closure) -> None:
    _require_manager(actor, closure.facility)
    with transaction.atomic():
        affected = _affected_instruments(closure.facility, closure.instrument)
        closure.delete()
        bump_versions(instrument_ids=affected, reason="closure_removed")


def qualification_grant(*, actor: User, user: User, instrument: Instrument) -> Qualification:
    _require_manager(actor, instrument.facility)
    with transaction.atomic():
        existing = Qualification.objects.filter(user=user, instrument=instrument, revoked_at__isnull=True).first()
        if existing:
            return existing
        return Qualification.objects.create(user=user, instrument=instrument, granted_by=actor)


def qualification_revoke(*, actor: User, user: User, instrument: Instrument) -> int:
    _require_manager(actor, instrument.facility)
    return Qualification.objects.filter(user=user, instrument=instrument, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
