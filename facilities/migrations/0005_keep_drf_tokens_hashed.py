"""Existing DRF tokens (table `authtoken_token`, plain keys) keep working, hashed: each becomes an
ApiToken with the same key's digest, named "Token from before named tokens", expiring
MIGRATED_TOKEN_DAYS after this migration; then the plain keys are deleted. The table itself is left
empty (rest_framework.authtoken is no longer installed; drop it by hand if you like)."""

import datetime as dt
import hashlib

from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime

MIGRATED_TOKEN_DAYS = 30
MIGRATED_TOKEN_NAME = "Token from before named tokens"


def _aware(value) -> dt.datetime | None:
    """The row's creation time; SQLite hands raw SELECTs back as text."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def hash_drf_tokens(apps, schema_editor) -> int:
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return 0
    ApiToken = apps.get_model("facilities", "ApiToken")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        if ApiToken.objects.filter(digest=digest).exists():
            continue
        ApiToken.objects.create(
            user_id=user_id,
            name=MIGRATED_TOKEN_NAME,
            prefix=key[:8],
            digest=digest,
            from_sign_in=True,
            created_at=min(_aware(created) or now, now),
            expires_at=now + dt.timedelta(days=MIGRATED_TOKEN_DAYS),
        )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token")
    return len(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("facilities", "0004_api_tokens"),
    ]

    operations = [migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop)]
