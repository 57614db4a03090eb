"""SECRET_KEY without a public fallback.

The key comes from the environment. Where none is set, the key file in the var directory is used (or the
checkout's own `var/`, for processes given a scratch var directory): `make run` and `make test` write it on
their first run (`python -m config.secret`), a random key that never leaves this machine, so the embedded
default needs no configuration. With neither, the process stops and says how to set
one: a deployment never runs with a key anybody could read in this repository."""

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

KEY_FILE = "secret_key"
MIN_LENGTH = 50  # what `manage.py check --deploy` asks of a key (security.W009)


ROOT = Path(__file__).resolve().parent.parent


def _var_dir() -> Path:
    return Path(os.environ.get("SANJIAO_VAR_DIR", str(ROOT / "var")))


def secret_key(var_dir: Path) -> str:
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    path = var_dir / KEY_FILE
    for candidate in (path, ROOT / "var" / KEY_FILE):
        try:
            key = candidate.read_text().strip()
        except FileNotFoundError:
            continue
        if key:
            return key
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment to a long random value, e.g.\n"
        "    export SECRET_KEY=\"$(python -c 'import secrets; print(secrets.token_urlsafe(50))')\"\n"
        f"(the same on every process of one deployment), or, on a development machine, run `make run` or "
        f"`make test` once, or `python -m config.secret`, which keep a random key in {path}."
    )


def ensure_key_file(var_dir: Path) -> Path:
    """Write a random key to the var directory unless one is there; readable by this user only."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / KEY_FILE
    if not path.exists() or not path.read_text().strip():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(get_random_secret_key() + "\n")
    return path


if __name__ == "__main__":
    written = ensure_key_file(_var_dir())
    print(f"SECRET_KEY for this machine is kept in {written}", file=sys.stderr)
