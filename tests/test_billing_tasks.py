"""Billing's services start its tasks by name (billing/services/background.py) rather than importing the
task module, which imports them. Every process that can call a service must therefore know those names."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from billing.services import background

STARTED_BY_SERVICES = {
    background.EXECUTE_INVOICE_RUN,
    background.SEND_INVOICE_TO_STRIPE,
    background.VOID_INVOICE_IN_STRIPE,
}


def test_a_fresh_django_process_knows_every_task_a_billing_service_starts():
    # A fresh interpreter, so nothing this test run imported counts: Django's start-up alone must register them.
    code = "import django; django.setup(); from celery import current_app; print(*sorted(current_app.tasks))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=Path(settings.BASE_DIR)
    )
    assert STARTED_BY_SERVICES <= set(out.stdout.split())
