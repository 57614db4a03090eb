"""A real Celery worker, over Redis, against the test database: what production runs.

Skipped without REDIS_URL (the embedded default runs tasks in-process). The worker is a subprocess
listening on a queue of its own, so it never takes messages meant for anything else on that Redis.
"""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from booking.models import Booking, NotificationLog
from booking.services import booking_request
from booking.tasks import expire_stale_requests, send_booking_notification
from config.celery import app as celery_app

H = dt.timedelta(hours=1)
BASE_DIR = Path(settings.BASE_DIR)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: a real worker takes tasks from Redis"),
]


def database_url() -> str:
    """The URL of the database this test runs on (the test database pytest-django created)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    queue = f"sanjiao-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SANJIAO_VAR_DIR": str(tmp_path),
        # Whatever the worker enqueues itself (mail after a sweep's change) stays on its own queue too.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield queue, proc, log_path
    finally:
        started = time.monotonic()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        print(f"worker stopped in {time.monotonic() - started:.1f}s")
        _forget_queue(queue)


def _forget_queue(queue: str) -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def wait_for(predicate, proc, log_path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"the worker exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)
    pytest.fail(f"the worker did not do it within {timeout}s:\n{log_path.read_text(errors='replace')[-4000:]}")


@pytest.mark.django_db(transaction=True)
def test_worker_sends_mail_and_runs_sweeps(world, tomorrow_9, worker, mailoutbox):
    queue, proc, log_path = worker
    world.instrument.requires_approval = True
    world.instrument.save()
    before = celery_app.conf.task_always_eager
    try:
        # The request's own mail is sent in this process, as on the embedded default...
        celery_app.conf.task_always_eager = True
        b = booking_request(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert NotificationLog.objects.get(booking=b, kind="request_received").status == "sent"
        assert len(mailoutbox) == 2  # requester and manager
        # ...then a real worker gets the same task twice through Redis (a redelivery looks like this):
        # it sees the committed claim of another process and mails nobody again.
        celery_app.conf.task_always_eager = False
        for _ in range(2):
            send_booking_notification.apply_async(
                kwargs={"kind": "request_received", "booking_id": b.pk, "sequence": b.sequence}, queue=queue
            )
        wait_for(lambda: log_path.read_text(errors="replace").count("'duplicate': 1") == 2, proc, log_path)
        # A sweep through the broker: the worker rejects the stale request, and the rejection mail goes
        # signal → on_commit → broker → worker → mail, all on the worker's side.
        expire_stale_requests.apply_async(kwargs={"now": (tomorrow_9 + H).isoformat()}, queue=queue)
        wait_for(lambda: Booking.objects.get(pk=b.pk).status == "rejected", proc, log_path)
        wait_for(
            lambda: NotificationLog.objects.filter(booking=b, kind="rejected", status="sent").exists(), proc, log_path
        )
    finally:
        celery_app.conf.task_always_eager = before
    assert NotificationLog.objects.filter(booking=b, kind="request_received").count() == 1
    assert len(mailoutbox) == 2  # the worker's mail went out from the worker, not from here
