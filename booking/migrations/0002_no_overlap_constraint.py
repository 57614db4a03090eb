"""No two held bookings of one instrument may overlap, buffer included: enforced by PostgreSQL itself.

SQLite has no exclusion constraints; there the booking service serializes writers (IMMEDIATE
transactions) and checks before inserting.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    ALTER TABLE booking_booking ADD CONSTRAINT booking_no_overlap
    EXCLUDE USING gist (instrument_id WITH =, tstzrange("start", hold_end, '[)') WITH &&)
    WHERE (status IN ('requested', 'approved'))
    """,
]
BACKWARD = ["ALTER TABLE booking_booking DROP CONSTRAINT IF EXISTS booking_no_overlap"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
