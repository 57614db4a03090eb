"""The federation's metadata, read again on a schedule (CELERY_BEAT_SCHEDULE "refresh-federation-metadata")."""

from celery import shared_task

from . import services


@shared_task(name="federation.tasks.refresh_federation_metadata")
def refresh_federation_metadata() -> dict[str, int]:
    """Idempotent: the same metadata again changes nothing; a missed run is made up by the next."""
    return services.refresh_federation_metadata()
