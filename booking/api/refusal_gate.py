"""The hot path of POST /api/v1/bookings/: "that slot is already held", answered before DRF is entered.

When many people go for the same slots, nearly every attempt is refused as held (see
services/early_refusal.py). The refusal itself is two indexed reads; what it cost beyond them was the
framework around it: DRF's request wrapping, content negotiation, the ORM's token join and the
serializer's field copies took about four times as long as the reads. So this gate, in front of
BookingList, answers that one case itself, for the plainest request only:

- authenticated by `Authorization: Token <key>` (which DRF tries first, so no session or CSRF is
  involved) for an active user with the researcher role;
- a JSON object body with `instrument`, `start`, `end` and at most `purpose`, each exactly what the
  serializer accepts (no `splits`, no query string, no Idempotency-Key, JSON or any media accepted);
- a slot that the early refusal finds held, after the same static rules.

A slot it finds free is noted on the request (`slot_seen_free`), so that the full path does not
repeat the read.

Anything else, including every request it cannot refuse, goes on to BookingList unchanged, which
parses, authenticates and answers it as before (and refuses a held slot the same way). The gate only
refuses: it never writes and never admits a booking, and its 409 is the same bytes and headers as the
full path's (tests/test_booking_refusal_gate.py compares them).
"""

import functools
import json

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from common.parsing import MAX_BODY_BYTES, parse_aware
from common.errors import Conflict

from ..services.early_refusal import refuse_if_held
from .serializers import BookingCreateSerializer

_FIELDS = frozenset({"instrument", "start", "end", "purpose"})
# The serializer's own limits, so the gate never accepts what the full path would refuse.
_SERIALIZER_FIELDS = BookingCreateSerializer().fields
_ID_MIN, _ID_MAX = _SERIALIZER_FIELDS["instrument"].min_value, _SERIALIZER_FIELDS["instrument"].max_value
_PURPOSE_MAX = _SERIALIZER_FIELDS["purpose"].max_length
_ACCEPTED = frozenset({"", "*/*", "application/json"})
_RENDERER = JSONRenderer()


def _plain_body(request) -> dict | None:
    """The body, if it is exactly what the create serializer accepts without a word; else None."""
    if request.content_type != "application/json" or request.encoding not in (None, "utf-8", "UTF-8"):
        return None
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            return None
        body = json.loads(request.body.decode("utf-8"))
    except (ValueError, RecursionError):  # bad length, UTF-8 or JSON: the full path words the 400
        return None
    if not isinstance(body, dict) or not body.keys() <= _FIELDS or not {"instrument", "start", "end"} <= body.keys():
        return None
    instrument, purpose = body["instrument"], body.get("purpose", "")
    if type(instrument) is not int or not _ID_MIN <= instrument <= _ID_MAX:
        return None
    if type(purpose) is not str or len(purpose) > _PURPOSE_MAX or "\x00" in purpose:
        return None
    try:
        purpose.encode("utf-8")  # a lone surrogate is the serializer's 400
        body["start"], body["end"] = parse_aware(body["start"], "start"), parse_aware(body["end"], "end")
    except (UnicodeEncodeError, ValidationError):
        return None
    if body["end"] <= body["start"]:
        return None
    return body


def _token(request) -> str | None:
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "token" or not parts[1].isascii():
        return None
    return parts[1]


def _refusal(request, allow: str) -> HttpResponse | None:
    if request.META.get("QUERY_STRING") or "HTTP_IDEMPOTENCY_KEY" in request.META:
        return None
    if request.META.get("HTTP_ACCEPT", "").strip() not in _ACCEPTED:
        return None
    key = _token(request)
    if key is None:
        return None
    body = _plain_body(request)
    if body is None:
        return None
    try:
        refuse_if_held(  # an unknown key refuses nothing: the full path answers its 401
            requester_token=key, instrument_id=body["instrument"], start=body["start"], end=body["end"],
            now=timezone.now(),
        )
    except ValidationError:
        return None  # a broken rule: the full path words the 400
    except Conflict as exc:
        response = HttpResponse(_RENDERER.render(exc.as_dict()), status=409, content_type="application/json")
        response["Vary"] = "Accept"
        response["Allow"] = allow
        return response
    # Free a moment ago: the view tells the service, which then skips asking the same read again (the
    # insert checks the slot under the instrument lock in any case).
    request.slot_seen_free = (body["instrument"], body["start"], body["end"])
    return None


def refusal_gate(view):
    """Wrap BookingList's view function with the gate; the wrapper keeps the view's attributes
    (csrf_exempt, cls for the schema)."""
    instance = view.cls()
    instance.setup(None)  # as for a request: HEAD comes with GET
    allow = ", ".join(instance.allowed_methods)

    @functools.wraps(view)
    def gated(request, *args, **kwargs):
        if request.method == "POST":
            response = _refusal(request, allow)
            if response is not None:
                return response
        return view(request, *args, **kwargs)

    return gated
