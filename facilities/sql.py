"""Plain SQL for the statements on the booking hot path.

Building and compiling an ORM query costs 0.4–1 ms on this stack, two to four times what the same
statement costs to run; a booking request makes a dozen such reads and four inserts. The statements
that every request makes are therefore written once as text here and in the modules that use these
helpers, with the conversions the ORM would apply (SQLite keeps times as text): `instance` builds a
model from a row as a queryset would, `insert` writes one as save() would. Everything else stays in
the ORM.
"""

import datetime as dt
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models.signals import post_save, pre_save

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


def insert(obj: M) -> M:
    """`obj.save(force_insert=True)` for a new row of a plain model (auto primary key, no parents),
    without compiling the INSERT each time. The fields' own pre_save (defaults, auto_now_add) and
    database preparation fill the values, the statement text is built once per model, and pre_save
    and post_save are sent as save() sends them. A constraint violation raises the IntegrityError the
    ORM would raise."""
    model = type(obj)
    meta = model._meta
    fields, sql, returning = _insert_plan(model, connection.vendor)
    alias = connection.alias
    pre_save.send(sender=model, instance=obj, raw=False, using=alias, update_fields=None)
    values = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk = cursor.fetchone()[0] if returning else connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    setattr(obj, meta.pk.attname, pk)
    obj._state.adding, obj._state.db = False, alias
    post_save.send(sender=model, instance=obj, created=True, update_fields=None, raw=False, using=alias)
    return obj


@cache
def _insert_plan(model: type[models.Model], vendor: str) -> tuple[list, str, bool]:
    meta = model._meta
    if meta.parents or meta.auto_field is None or any(f.db_returning for f in meta.concrete_fields if f is not meta.pk):
        raise TypeError(f"insert() writes plain models with an auto primary key; {meta.label} needs save().")
    fields = [field for field in meta.concrete_fields if field is not meta.auto_field]
    quote = connection.ops.quote_name
    returning = connection.features.can_return_columns_from_insert
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
        f" VALUES ({placeholders(len(fields))})" + (f" RETURNING {quote(meta.pk.column)}" if returning else "")
    )
    return fields, sql, returning
