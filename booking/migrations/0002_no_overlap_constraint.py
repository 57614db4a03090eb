"""Once added the no-overlap exclusion constraint by hand. The constraint is now declared on the model
(booking.holds.no_overlap_constraint) and migration 0006 creates it; this step stays, empty, so that
databases migrated before keep one migration history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]
    operations: list = []
