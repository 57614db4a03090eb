"""Who reads which part of the audit trail, and the entries as people read them.

Platform administrators read every entry; an institution's administrators read the entries filed under
their institution (see `common.audit.attributed_to`); nobody else reads any."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import DateTimeField, Exists, OuterRef, Prefetch, QuerySet
from django.utils.translation import gettext as _

from common.time import local_tz
from facilities.models import Membership
from facilities.models.tenants import Role

from .models import EntryInstitution

ACCESS_RULE = (
    "The audit trail is open to institution administrators (their institution's entries) and platform administrators."
)
ACTIONS = {LogEntry.Action.CREATE: "create", LogEntry.Action.UPDATE: "update", LogEntry.Action.DELETE: "delete"}
SYSTEM = "system"


def administered_institution_ids(user) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(
        Membership.objects.filter(user=user, role=Role.INSTITUTION_ADMIN).values_list("institution_id", flat=True)
    )


def may_read_trail(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or bool(administered_institution_ids(user))
    )


@dataclass(frozen=True)
class TrailFilter:
    model: str | None = None  # "app_label.model", e.g. "facilities.closure"
    object: str | None = None  # the object's primary key as text
    actor: str | None = None  # a username, or "system"
    since: dt.date | None = None  # local days, both ends included
    until: dt.date | None = None


def _date(params, name: str) -> dt.date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10]) if len(raw) == 10 else _bad_date(name, raw)
    except ValueError:
        return _bad_date(name, raw)


def _bad_date(name: str, raw: str):
    raise ValidationError(
        {name: [_("Give a day as YYYY-MM-DD (China Standard Time); got %(raw)s.") % {"raw": repr(raw[:40])}]}
    )


def _text(params, name: str) -> str | None:
    raw = (params.get(name) or "").strip()
    if len(raw) > 150:
        raise ValidationError({name: [_("At most 150 characters.")]})
    if "\x00" in raw:
        raise ValidationError({name: [_("A NUL character is not allowed.")]})
    return raw or None


def parse_filters(params) -> TrailFilter:
    """The trail's filters from a query string: model, object, actor, since, until (both days included)."""
    return TrailFilter(
        model=_text(params, "model"),
        object=_text(params, "object"),
        actor=_text(params, "actor"),
        since=_date(params, "since"),
        until=_date(params, "until"),
    )


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=local_tz())


def entries_visible_to(user, filters: TrailFilter | None = None) -> QuerySet[LogEntry]:
    """The entries `user` may read, newest first, with what a page of them needs in two more queries."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(ACCESS_RULE)
    qs = LogEntry.objects.all()
    if not user.is_superuser:
        ids = administered_institution_ids(user)
        if not ids:
            raise PermissionDenied(ACCESS_RULE)
        qs = qs.filter(
            Exists(EntryInstitution.objects.filter(entry=OuterRef("pk"), institution_id__in=ids)),
        )
    f = filters or TrailFilter()
    if f.model:
        app_label, _dot, model = f.model.partition(".")
        if not app_label or not model:
            raise ValidationError({"model": [_('Name a model as "app_label.model", e.g. "facilities.closure".')]})
        qs = qs.filter(content_type__app_label=app_label, content_type__model=model)
    if f.object:
        qs = qs.filter(object_pk=f.object)
    if f.actor == SYSTEM:
        qs = qs.filter(actor__isnull=True)
    elif f.actor:
        qs = qs.filter(actor__username=f.actor)
    if f.since and f.until and f.until < f.since:
        raise ValidationError({"until": [_("The end of the date range must not be before its start.")]})
    if f.since:
        qs = qs.filter(timestamp__gte=_local_midnight(f.since))
    if f.until:
        qs = qs.filter(timestamp__lt=_local_midnight(f.until + dt.timedelta(days=1)))
    return (
        qs.select_related("actor", "content_type")
        .prefetch_related(
            Prefetch(
                "audit_institutions",
                queryset=EntryInstitution.objects.select_related("institution").order_by("institution__code"),
            )
        )
        .order_by("-timestamp", "-pk")
    )


def entries_by(user) -> QuerySet[LogEntry]:
    """The entries a person wrote, for their own personal-data export."""
    return (
        LogEntry.objects.filter(actor=user)
        .select_related("actor", "content_type")
        .prefetch_related(
            Prefetch("audit_institutions", queryset=EntryInstitution.objects.select_related("institution"))
        )
        .order_by("-timestamp", "-pk")
    )


def actor_name(entry: LogEntry) -> str:
    """The author's username (an anonymised person's pseudonym), or "system" for background work."""
    if entry.actor is not None:
        return entry.actor.username
    return SYSTEM


def changes_of(entry: LogEntry) -> dict[str, dict]:
    """{field: {"before", "after"}}; a many-to-many field: {field: {"added" | "removed": [objects]}}.
    Moments are shown like every other time here: ISO 8601 in China Standard Time."""
    out: dict[str, dict] = {}
    moments = _moment_fields(entry)
    for field, change in (entry.changes_dict or {}).items():
        if isinstance(change, dict) and change.get("type") == "m2m":
            verb = "added" if change.get("operation") == "add" else "removed"
            out[field] = {verb: list(change.get("objects") or [])}
        elif isinstance(change, list | tuple) and len(change) == 2:
            shown = _local if field in moments else _none
            out[field] = {"before": shown(change[0]), "after": shown(change[1])}
    return out


def _moment_fields(entry: LogEntry) -> set[str]:
    model = entry.content_type.model_class()
    if model is None:
        return set()
    return {f.name for f in model._meta.concrete_fields if isinstance(f, DateTimeField)}


def _none(value):
    return None if value == "None" else value


def _local(value):
    """django-auditlog records a moment as naive UTC text ("2026-12-05 01:00:00")."""
    value = _none(value)
    if not isinstance(value, str):
        return value
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(local_tz()).isoformat()


def entry_row(entry: LogEntry) -> dict:
    """One entry as the API, the page and the exports show it."""
    data = entry.additional_data or {}
    ct = entry.content_type
    return {
        "id": entry.pk,
        "timestamp": entry.timestamp.astimezone(local_tz()).isoformat(),
        "action": ACTIONS.get(entry.action, "other"),
        "model": f"{ct.app_label}.{ct.model}",
        "object": entry.object_pk,
        "object_repr": entry.object_repr,
        "actor": actor_name(entry),
        "via": data.get("via", ""),
        "changes": changes_of(entry),
        "institutions": [link.institution.code for link in entry.audit_institutions.all()],
    }


CSV_HEADER = ["id", "timestamp", "action", "model", "object", "object_repr", "actor", "via", "institutions"]
CSV_HEADER += ["field", "before", "after"]


def csv_rows(entries) -> Iterator[list[str]]:
    """One row per changed field (an entry without fields: one row), after the header."""
    yield CSV_HEADER
    for entry in entries:
        row = entry_row(entry)
        head = [spreadsheet_safe(row[k]) for k in CSV_HEADER[:8]] + [";".join(row["institutions"])]
        if not row["changes"]:
            yield head + ["", "", ""]
        for field, change in row["changes"].items():
            if "before" in change:
                yield head + [field, spreadsheet_safe(change["before"]), spreadsheet_safe(change["after"])]
            else:
                verb = "added" if "added" in change else "removed"
                yield head + [field, "", spreadsheet_safe(f"{verb}: " + "; ".join(change[verb]))]


def spreadsheet_safe(value) -> str:
    """Text a spreadsheet will not run as a formula (what people typed ends up here)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text
