"""What the WebSocket tests share: running an async scenario from a sync test, and calling a service
from it the way a request would."""

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import TestCase


def run(scenario) -> None:
    async_to_sync(scenario)()


def committed(fn):
    """Run a service the way a request does: its after-commit hooks fire when it returns."""

    def call(*args, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return fn(*args, **kwargs)

    return database_sync_to_async(call)
