"""Typed readers for settings that come from the environment.

Each reader fails loudly (ImproperlyConfigured) on a value it cannot understand, so a typo in a
deployment stops the process at start instead of silently falling back to a default.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, schemes: tuple[str, ...]) -> str:
    """An optional URL whose scheme must be one of `schemes`; empty string when unset."""
    raw = os.environ.get(name, "").strip()
    if raw and raw.split("://", 1)[0] not in schemes:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(s + '://' for s in schemes)}; got {raw!r}."
        )
    return raw


def env_header_pair(name: str, default: str = "") -> tuple[str, str] | None:
    """`X-Forwarded-Proto,https` → ("HTTP_X_FORWARDED_PROTO", "https"), Django's SECURE_PROXY_SSL_HEADER;
    empty: None (no proxy header is trusted)."""
    raw = os.environ.get(name, default).strip()
    if not raw:
        return None
    header, comma, value = (part.strip() for part in raw.partition(","))
    if not comma or not header or not value:
        raise ImproperlyConfigured(
            f"{name}={raw!r} must be a header and the value that means HTTPS, e.g. X-Forwarded-Proto,https."
        )
    meta = header.upper().replace("-", "_")
    return (meta if meta.startswith("HTTP_") else f"HTTP_{meta}", value)


WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


def serving_url(host: str, port: int) -> str:
    """The address a server listening on host:port is reached at, as the start of links: a wildcard host
    listens everywhere but is no address, so links name the loopback address instead."""
    host = "127.0.0.1" if host.strip() in WILDCARD_HOSTS else host.strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def env_source(name: str) -> str:
    """An optional place to read a document from: an http(s):// URL or an absolute file path; empty when unset.
    A relative path or another scheme stops the process: the reader runs in workers whose directory differs."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme in ("http", "https"):
        return raw
    if scheme == "file":
        raw = raw[len("file://") :]
    elif scheme:
        raise ImproperlyConfigured(f"{name}={raw!r}: use an http:// or https:// URL or an absolute file path.")
    if not os.path.isabs(raw):
        raise ImproperlyConfigured(f"{name}={raw!r} is a relative path; give an absolute path or a URL.")
    return raw


def env_file(name: str) -> str:
    """An optional absolute path to a file that must exist (a certificate, a key); empty when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    if not os.path.isabs(raw) or not os.path.isfile(raw):
        raise ImproperlyConfigured(f"{name}={raw!r} is not an absolute path to an existing file.")
    return raw
