"""Django set up for a benchmark script: its own database, never the developer's.

With BENCH_DATABASE_URL (postgres://…/name) that database is created if missing and emptied;
otherwise a throw-away SQLite file in a temporary folder. Redis is left out, so tasks run in-process.
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def setup_django(label: str) -> str:
    """Configure, migrate and return the database vendor ("postgresql" or "sqlite")."""
    url = os.environ.get("BENCH_DATABASE_URL")
    os.environ.pop("REDIS_URL", None)
    if url:
        os.environ["DATABASE_URL"] = url
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
                conn.execute(f'create database "{name}"')
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["SANJIAO_VAR_DIR"] = tempfile.mkdtemp(prefix=f"sanjiao-bench-{label}-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if url:
        call_command("flush", interactive=False, verbosity=0)
    from django.db import connection

    return connection.vendor
