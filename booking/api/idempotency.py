"""Idempotency-Key: the first answer to a keyed request is stored with the request's hash and replayed
for every repeat, so a client that lost the answer may simply send again.

The answer and its record are written in one transaction. Two copies of one request racing each other
both run, but only one record can be written (unique (user, key)): the loser's transaction, booking
and all, is rolled back, and it answers with the winner's stored result instead. On PostgreSQL the
loser's insert waits for the winner's commit; on SQLite the write lock already serializes them.
"""

import hashlib
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from common.api import exception_handler
from common.errors import Conflict
from common.parsing import canonical

from ..models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationError(
            {
                HEADER: _("The %(header)s must be 1 to %(max_key_length)s printable ASCII characters, e.g. a UUID.")
                % {"header": HEADER, "max_key_length": MAX_KEY_LENGTH}
            }
        )
    return key


def _hash(request, body: dict) -> str:
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical(body)}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str, key: str) -> Response:
    if record.request_hash != request_hash:
        raise Conflict(
            "idempotency_key_reused",
            _(
                "The %(header)s %(key)s was already used for a different request; send a "
                "new key for a new request, or repeat the first request unchanged."
            )
            % {"header": HEADER, "key": repr(key[:60])},
        )
    response = Response(record.response, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _as_response(run: Callable[[], Response], context: dict) -> Response:
    """Run the request; an expected refusal (rule, conflict, permission) becomes its answer too, so it
    is stored and replayed like a success. Anything unexpected propagates and nothing is stored."""
    try:
        return run()
    except Exception as exc:
        response = exception_handler(exc, context)
        if response is None or response.status_code >= 500:
            raise
        return response


def idempotent(request, view, body: dict, run: Callable[[], Response]) -> Response:
    key = _key(request)
    if key is None:
        return run()
    user = request.user
    request_hash = _hash(request, body)
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if record is not None:
        return _replay(record, request_hash, key)
    context = {"request": request, "view": view}
    try:
        with transaction.atomic():
            response = _as_response(run, context)
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    request_hash=request_hash,
                    status_code=response.status_code,
                    response=response.data,
                )
    except IntegrityError:
        # A copy of this request stored its answer first; ours is rolled back, and theirs is the answer.
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            raise
        return _replay(record, request_hash, key)
    return response
