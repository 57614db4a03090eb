"""The Celery app. Without REDIS_URL tasks run in-process (eagerly) once the transaction commits;
with it, a real worker and beat take them from Redis."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sanjiao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _publish_from_own_loop(**kwargs) -> None:
    # A worker serves no ASGI: its tasks publish live updates through one event loop of its own.
    from booking.live.publish import publish_from_own_loop

    publish_from_own_loop()
