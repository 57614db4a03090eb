"""The Celery app. Without REDIS_URL tasks run in-process (eagerly) once the transaction commits;
with it, a real worker and beat take them from Redis."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sanjiao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
