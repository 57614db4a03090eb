"""The institutions each audit entry belongs to. The entries themselves are django-auditlog's LogEntry rows;
this table files each one under the institutions whose administrators may read it."""

from auditlog.models import LogEntry
from django.db import models


class EntryInstitution(models.Model):
    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="audit_institutions")
    # PROTECT: an institution with a trail cannot disappear from under it.
    institution = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "entry"],
                name="audit_entry_institution_unique",
                violation_error_message="This entry is already filed under that institution.",
            )
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} · institution {self.institution_id}"
