"""Plain SQL for the few reads on the booking hot path.

Building and compiling an ORM query costs 0.4–1 ms on this stack, two to four times what the same
statement costs to run; a booking request makes a dozen such reads. The reads that every request
makes are therefore written once as text here and in the modules that use these helpers, with the
conversions the ORM would apply (SQLite keeps times as text). Everything else stays in the ORM.
"""

import datetime as dt
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def moment(value) -> dt.datetime:
    """A timestamp as read from the database, aware on every backend."""
    convert = getattr(connection.ops, "convert_datetimefield_value", None)  # SQLite hands back text
    return convert(value, None, connection) if convert else value


def clock(value) -> dt.time:
    """A time of day as read from the database, a `time` on every backend."""
    convert = getattr(connection.ops, "convert_timefield_value", None)  # SQLite hands back text
    return convert(value, None, connection) if convert else value


def bind(value: dt.datetime):
    """A timestamp as a parameter, the way the ORM binds it on this backend."""
    return connection.ops.adapt_datetimefield_value(value)


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def rows(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def held_literals(statuses: Sequence[str]) -> str:
    """The held states written into a statement rather than bound, so that PostgreSQL can match the
    partial index on held bookings in a prepared statement's generic plan too."""
    return ", ".join(f"'{status}'" for status in statuses)


def columns(model: type[models.Model], alias: str) -> str:
    """Every concrete column of `model` under `alias`, in field order: the select list that
    `instance` turns back into an object."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def instance(model: type[M], values: Sequence[Any]) -> M:
    """An instance of `model` from the values of its `columns`, converted as the ORM converts them
    (SQLite hands back dates, decimals and booleans as text and numbers), marked as loaded from the
    database: what a queryset would have built, without compiling one."""
    converted = list(values)
    for index, column, converters in _converters(model, connection.vendor):
        for convert in converters:
            converted[index] = convert(converted[index], column, connection)
    return model.from_db(connection.alias, _attnames(model), converted)


@cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


@cache
def _converters(model: type[models.Model], vendor: str) -> tuple:
    # Computed once per model and backend, as the ORM's compiler computes them for every query.
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            found.append((index, column, tuple(converters)))
    return tuple(found)
