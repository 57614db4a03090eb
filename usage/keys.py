"""Agent keys: made at random, shown once, kept encrypted (Fernet, from the `cryptography` library) under a
key derived from SECRET_KEY, and used to check the HMAC-SHA256 signature of each agent request.

The server needs the key itself to check an HMAC, so it is encrypted rather than hashed: a copy of the
database alone does not reveal it. Rotating SECRET_KEY makes every agent key unreadable; the manager
then issues new ones."""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

KEY_BYTES = 32


def _fernet() -> Fernet:
    derived = hashlib.sha256(b"sanjiao.usage.agent-key:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def encrypt(key: str) -> str:
    return _fernet().encrypt(key.encode()).decode()


def decrypt(token: str) -> str | None:
    """The key, or None when there is none or it cannot be read (SECRET_KEY changed)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def signature(key: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over `timestamp` "." `body`: what the agent sends in X-Sanjiao-Signature."""
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_matches(key: str, timestamp: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(key, timestamp, body), given)
