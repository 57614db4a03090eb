"""Strict reading of what clients send: a value is either exactly what the contract says or a 400 that
says in words what is wrong. Nothing here guesses (no naive times, no "5" for 5, no True for 1)."""

import datetime as dt
import json

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError, UnsupportedMediaType

MAX_PARAM_LENGTH = 64
# The largest id or count a client may name: every id column is a 64-bit integer, and a number past it
# would overflow the database driver (a 500) instead of simply matching nothing.
MAX_ID = 2**53
# Times outside these years are refused: nothing here is booked, billed or reported that far out, and
# near year 1 or 9999 the arithmetic on them (time zones, buffers, windows) leaves Python's range.
MIN_YEAR, MAX_YEAR = 1900, 2200
OFFSET_EXAMPLE = "2026-12-01T09:00:00+08:00"


NESTED_TOO_DEEPLY = "it is nested too deeply"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested too deeply for Python's decoder (a few thousand
    brackets fit in any size limit) is a ParseError like any other bad JSON: the decoder raises
    RecursionError there, which DRF lets through as a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(NESTED_TOO_DEEPLY) from None


def parse_aware(value, field: str) -> dt.datetime:
    """An ISO 8601 time with a UTC offset; anything else is a ValidationError naming `field`."""
    if not isinstance(value, str):
        raise ValidationError(
            {field: _("Must be an ISO 8601 time as a string, e.g. %(example)s.") % {"example": OFFSET_EXAMPLE}}
        )
    text = value.strip()
    if len(text) > MAX_PARAM_LENGTH:
        raise ValidationError({field: _("Is too long to be a time.")})
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {
                field: _("%(value)s is not an ISO 8601 time such as %(example)s.")
                % {"value": repr(value[:MAX_PARAM_LENGTH]), "example": OFFSET_EXAMPLE}
            }
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(
            {field: _("The time must carry a UTC offset, e.g. %(example)s.") % {"example": OFFSET_EXAMPLE}}
        )
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValidationError(
            {field: _("The time must fall between the years %(a)d and %(b)d.") % {"a": MIN_YEAR, "b": MAX_YEAR}}
        )
    return moment


def ascii_digits(text: str) -> bool:
    """Only the digits 0-9. `str.isdigit` also says yes to "³" (which `int` refuses: a 500) and to "٣" or
    "３" (which `int` reads as 3): nothing a client sends is read as a number unless it passes this."""
    return text.isascii() and text.isdigit()


def is_id(value) -> bool:
    """A JSON number that can name a row: a whole number from 1 to MAX_ID, never true/false."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def check_year(year: int, field: str) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError({field: _("The year must lie between %(a)d and %(b)d.") % {"a": MIN_YEAR, "b": MAX_YEAR}})
    return year


def parse_month(value, field: str = "period") -> tuple[int, int]:
    """ "2026-10" → (2026, 10): four ASCII digits, a dash, a month 01 to 12, a year the platform can count
    with (MIN_YEAR..MAX_YEAR: year 0 or 9999 would leave Python's calendar at the month's edges)."""
    text = value.strip() if isinstance(value, str) else ""
    year, dash, month = text.partition("-")
    well_formed = dash and len(year) == 4 and len(month) == 2 and ascii_digits(year) and ascii_digits(month)
    if not well_formed or not 1 <= int(month) <= 12:
        shown = repr(value[:MAX_PARAM_LENGTH]) if isinstance(value, str) else json_type(value)
        raise ValidationError(
            {field: _("Give the month as YYYY-MM (month 01 to 12), e.g. 2026-10; got %(got)s.") % {"got": shown}}
        )
    return check_year(int(year), field), int(month)


def parse_strict_int(value, field: str, *, minimum: int = 1, maximum: int = MAX_ID) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            {
                field: _("Must be a whole number, not %(value)s.")
                % {"value": type(value).__name__ if value is not None else "null"}
            }
        )
    if not minimum <= value <= maximum:
        raise ValidationError({field: _("Must be between %(a)d and %(b)d.") % {"a": minimum, "b": maximum}})
    return value


def query_int(request, name: str, *, minimum: int = 1, maximum: int = MAX_ID, required: bool = False) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        if required:
            raise ValidationError({name: _("The query parameter %(name)s is required.") % {"name": name}})
        return None
    if len(raw) > 20 or not ascii_digits(raw):
        raise ValidationError({name: _("%(value)s is not a whole number.") % {"value": repr(raw[:MAX_PARAM_LENGTH])}})
    return parse_strict_int(int(raw), name, minimum=minimum, maximum=maximum)


def query_time(request, name: str) -> dt.datetime | None:
    raw = request.query_params.get(name, "")
    if not raw.strip():
        return None
    return parse_aware(raw, name)


def query_id_list(request, name: str, *, limit: int) -> list[int]:
    """`1,2,3` → [1, 2, 3] (order kept, duplicates dropped)."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        raise ValidationError({name: _("Name at least one id, e.g. %(name)s=1,2.") % {"name": name}})
    if len(raw) > limit * 21:
        raise ValidationError({name: _("At most %(n)d ids may be given.") % {"n": limit}})
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not ascii_digits(part) or len(part) > 18 or not is_id(int(part)):
            raise ValidationError(
                {
                    name: _("%(value)s is not an id; give whole numbers separated by commas.")
                    % {"value": repr(part[:MAX_PARAM_LENGTH])}
                }
            )
        value = int(part)
        if value not in ids:
            ids.append(value)
    if len(ids) > limit:
        raise ValidationError({name: _("At most %(n)d ids may be given; got %(got)d.") % {"n": limit, "got": len(ids)}})
    return ids


def json_body(request) -> dict:
    """The request body as a JSON object, or a 400 saying why not. (Its size was checked before any
    view ran: common/limits.py.)"""
    try:
        data = request.data
    except UnsupportedMediaType:
        raise ValidationError(_("The request body must be JSON, sent with Content-Type: application/json.")) from None
    except ParseError as exc:
        raise ValidationError(_("The request body is not valid JSON: %(why)s") % {"why": exc.detail}) from None
    if hasattr(data, "dict") and not isinstance(data, dict):  # an empty QueryDict: no body at all
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(
            _("The request body must be a JSON object, not a %(type)s.") % {"type": type(data).__name__}
        )
    return data


def canonical(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """A time that must carry its offset."""

    def to_internal_value(self, data):
        name = self.field_name or "value"  # always bound to its serializer by the time it validates
        try:
            return parse_aware(data, name)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict[name]) from None

    def to_representation(self, value):
        return value.isoformat()


class StrictIntegerField(serializers.IntegerField):
    """An id: a JSON number without fraction, never a string or a boolean."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(
                _("Must be a whole number (an id), not %(json_type)s.") % {"json_type": json_type(data)}
            )
        return super().to_internal_value(data)


class StrictTextField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(_("Must be text, not %(json_type)s.") % {"json_type": json_type(data)})
        return super().to_internal_value(data)


def json_type(value) -> str:
    """What a JSON value is, in words of the active language (for messages such as "Must be text, not …")."""
    return {
        type(None): "null",
        bool: "true/false",
        int: _("a number"),
        float: _("a number"),
        str: _("text"),
        list: _("a list"),
        dict: _("an object"),
    }.get(type(value), type(value).__name__)
