"""Catalog and people reads that every booking request makes, in plain SQL (see sql.py).

Each answers exactly what the ORM query named in its docstring answers, with the same objects (built by
`sql.instance`, related objects attached as select_related attaches them); tests/test_plain_sql.py
holds them to that on both backends.
"""

from functools import cache

from .models import Facility, FundingAccount, Institution, Instrument, Membership
from .models.tenants import Role
from .sql import columns, instance, placeholders, rows

_INSTRUMENT_WIDTH = len(Instrument._meta.concrete_fields)
_FACILITY_WIDTH = len(Facility._meta.concrete_fields)


@cache
def _instrument_sql() -> str:
    return (
        f"SELECT {columns(Instrument, 'i')}, {columns(Facility, 'f')}, {columns(Institution, 'h')}"
        f" FROM {Instrument._meta.db_table} i JOIN {Facility._meta.db_table} f ON f.id = i.facility_id"
        f" JOIN {Institution._meta.db_table} h ON h.id = f.host_id WHERE i.id = %s"
    )


def instrument_with_host(instrument_id: int) -> Instrument | None:
    """`Instrument.objects.select_related("facility", "facility__host").filter(pk=…).first()`."""
    found = rows(_instrument_sql(), [instrument_id])
    if not found:
        return None
    row = found[0]
    at = _INSTRUMENT_WIDTH + _FACILITY_WIDTH
    instrument = instance(Instrument, row[:_INSTRUMENT_WIDTH])
    facility = instance(Facility, row[_INSTRUMENT_WIDTH:at])
    facility.host = instance(Institution, row[at:])
    instrument.facility = facility
    return instrument


@cache
def _instruments_sql(count: int, active_only: bool) -> str:
    return (
        f"SELECT {columns(Instrument, 'i')}, {columns(Facility, 'f')}"
        f" FROM {Instrument._meta.db_table} i JOIN {Facility._meta.db_table} f ON f.id = i.facility_id"
        f" WHERE i.id IN ({placeholders(count)})" + (" AND i.active" if active_only else "")
    )


def instruments_with_facility(instrument_ids: list[int], *, active_only: bool) -> dict[int, Instrument]:
    """`Instrument.objects.filter(pk__in=…[, active=True]).select_related("facility")`, by id."""
    if not instrument_ids:
        return {}
    found = rows(_instruments_sql(len(instrument_ids), active_only), list(instrument_ids))
    out = {}
    for row in found:
        instrument = instance(Instrument, row[:_INSTRUMENT_WIDTH])
        instrument.facility = instance(Facility, row[_INSTRUMENT_WIDTH:])
        out[instrument.pk] = instrument
    return out


@cache
def _researcher_institution_sql() -> str:
    return (
        f"SELECT {columns(Institution, 'i')} FROM {Membership._meta.db_table} m"
        f" JOIN {Institution._meta.db_table} i ON i.id = m.institution_id"
        " WHERE m.user_id = %s AND m.role = %s ORDER BY m.id LIMIT 1"
    )


def researcher_institution(user_id: int) -> Institution | None:
    """The institution of the user's first researcher membership:
    `Membership.objects.filter(user=…, role=RESEARCHER).select_related("institution").order_by("id").first()`."""
    found = rows(_researcher_institution_sql(), [user_id, Role.RESEARCHER.value])
    return instance(Institution, found[0]) if found else None


@cache
def _chargeable_sql() -> str:
    members = FundingAccount._meta.get_field("members")
    through = members.remote_field.through._meta.db_table
    return (
        f"SELECT {columns(FundingAccount, 'a')} FROM {FundingAccount._meta.db_table} a"
        f" WHERE a.principal_investigator_id = %s"
        f" OR a.id IN (SELECT {members.m2m_column_name()} FROM {through} WHERE {members.m2m_reverse_name()} = %s)"
        " ORDER BY a.id"
    )


def chargeable_accounts(user_id: int) -> list[FundingAccount]:
    """The accounts the user may charge, ones they lead or are named on, in id order: the rows of
    `selectors.accounts_chargeable_by` (without its institution join)."""
    return [instance(FundingAccount, row) for row in rows(_chargeable_sql(), [user_id, user_id])]
