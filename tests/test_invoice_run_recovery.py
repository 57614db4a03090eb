"""Interrupted invoice runs recover: a run whose process died is found by its stale lease, marked failed
with the reason, and resumed by finance; nothing is billed twice and nothing is left unbilled."""

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import ChargeLine, Invoice, InvoiceLine, InvoiceRun
from billing.services import runs
from billing.services.invoicing import invoice_run_execute
from facilities.models import RateCard
from facilities.models.tenants import Role

from .factories.billing import book, complete
from .factories.facilities import UserFactory, member
from .servers import ROOT, database_url

SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
RUNS = "/api/v1/invoices/runs/"

pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def two_payers(world):
    """September charges of two payers (USTC and ZJU) at one issuer (SARI): two groups of lines to bill."""
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100.00"))
    for i, who in enumerate([world.researcher, world.outsider, world.researcher, world.outsider]):
        complete(book(requester=who, instrument=world.instrument, start=SEPT + dt.timedelta(days=i)))
    return world


def assert_billed_exactly_once():
    """Every charge line of the month is on exactly one invoice, and each draft totals its lines."""
    lines = ChargeLine.objects.filter(period="2026-09")
    assert lines.count() == 4
    billed = dict(
        InvoiceLine.objects.filter(is_credit=False).values_list("charge_line").annotate(n=Count("id")).order_by()
    )
    assert billed == {pk: 1 for pk in lines.values_list("pk", flat=True)}
    for invoice in Invoice.objects.filter(period="2026-09"):
        assert invoice.total == invoice.lines.aggregate(s=Sum("amount"))["s"] == Decimal("400.00")
    assert Invoice.objects.filter(period="2026-09").count() == 2


def kill_mid_run(run_id: int) -> int:
    """Carry the run out in a real process that kills itself (SIGKILL) inside the transaction of its
    second group of lines, after the first group was committed. Returns the process's exit status."""
    script = textwrap.dedent(
        """
        import os, signal, sys
        import django
        django.setup()
        from billing.services import invoicing
        insert, calls = invoicing._insert_lines, []
        def insert_then_die(**kwargs):
            calls.append(kwargs)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return insert(**kwargs)
        invoicing._insert_lines = insert_then_die
        invoicing.invoice_run_execute(run_id=int(sys.argv[1]))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
    proc = subprocess.run(
        [sys.executable, "-c", script, str(run_id)], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    return proc.returncode


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_process_was_killed_is_marked_failed_and_resumed_without_billing_twice(two_payers, settings):
    w = two_payers
    run = InvoiceRun.objects.create(period="2026-09", requested_by=w.finance)
    assert kill_mid_run(run.pk) == -signal.SIGKILL
    run.refresh_from_db()
    # The process is gone: the run says "running" with the lease of the dead process, half billed.
    assert run.status == "running" and run.lease and run.attempts == 1
    assert InvoiceLine.objects.count() == 2 and Invoice.objects.count() == 1
    # Within the lease nothing is presumed dead, and a resume is refused.
    assert runs.invoice_runs_fail_stale() == 0
    r = w.client(w.finance).post(f"{RUNS}{run.pk}/resume/")
    assert r.status_code == 409 and r.json()["code"] == "run_in_progress"
    # Past the lease, the periodic job marks it failed with the reason.
    later = timezone.now() + dt.timedelta(seconds=settings.INVOICE_RUN_LEASE_SECONDS + 1)
    assert runs.invoice_runs_fail_stale(now=later) == 1
    run.refresh_from_db()
    assert run.status == "failed" and "stopped" in run.error and run.finished_at is not None
    # Finance resumes it: the rest is billed, nothing twice.
    r = w.client(w.finance).post(f"{RUNS}{run.pk}/resume/")
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "done" and body["attempts"] == 2 and body["error"] == "" and body["stale"] is False
    assert_billed_exactly_once()
    # Resuming a finished run, or running the month again, changes nothing.
    r = w.client(w.finance).post(f"{RUNS}{run.pk}/resume/")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert w.client(w.finance).post(RUNS, {"period": "2026-09"}, format="json").json()["lines_added"] == 0
    assert_billed_exactly_once()


def test_a_run_left_running_with_an_old_lease_stops_the_page_polling_and_offers_resume(
    two_payers, django_capture_on_commit_callbacks
):
    w = two_payers
    run = runs.claim(InvoiceRun.objects.create(period="2026-09", requested_by=w.finance).pk)
    assert run is not None
    c = Client()
    c.force_login(w.finance)
    fragment = c.get(reverse("frontend:finance_runs")).content.decode()
    assert 'hx-trigger="every 2s"' in fragment and "Resume" not in fragment
    InvoiceRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=3))
    fragment = c.get(reverse("frontend:finance_runs")).content.decode()
    assert "hx-trigger" not in fragment, "the page must not poll a run nobody carries out"
    assert 'data-stale="true"' in fragment and reverse("frontend:resume_run", args=[run.pk]) in fragment
    assert w.client(w.finance).get(f"{RUNS}{run.pk}/").json()["stale"] is True
    # Resuming from the page, without waiting for the periodic job.
    with django_capture_on_commit_callbacks(execute=True):
        page = c.post(reverse("frontend:resume_run", args=[run.pk]), follow=True).content.decode()
    assert "The invoice run for 2026-09 has been resumed." in page
    run.refresh_from_db()
    assert run.status == "done" and run.attempts == 2
    assert_billed_exactly_once()


def test_a_pending_run_that_no_worker_took_up_is_marked_failed(two_payers, settings):
    run = InvoiceRun.objects.create(period="2026-09")
    InvoiceRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    assert runs.invoice_runs_fail_stale() == 1
    run.refresh_from_db()
    assert run.status == "failed" and "No worker took this run up" in run.error


def test_a_process_presumed_dead_that_comes_back_writes_nothing(two_payers):
    run = InvoiceRun.objects.create(period="2026-09")
    first = runs.Lease(runs.claim(run.pk))
    InvoiceRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    second = runs.claim(run.pk)
    assert second is not None and second.lease != first.token and second.attempts == 2
    with pytest.raises(runs.RunTakenOver):
        first.save("processed")
    # A duplicate delivery of the task while the second process is alive does nothing either.
    assert invoice_run_execute(run_id=run.pk).status == "running"
    assert not InvoiceLine.objects.exists()


@pytest.mark.parametrize("persona", ["researcher", "manager", "outsider", None])
def test_only_finance_and_admins_may_resume(two_payers, persona, django_capture_on_commit_callbacks):
    w = two_payers
    run = InvoiceRun.objects.create(period="2026-09", status="failed", error="stopped")
    user = getattr(w, persona) if persona else None
    r = w.client(user).post(f"{RUNS}{run.pk}/resume/")
    assert r.status_code in ((401, 403) if user is None else (403, 404)), r.content
    page = Client()
    if user is not None:
        page.force_login(user)
    refused = page.post(reverse("frontend:resume_run", args=[run.pk]))
    assert refused.status_code == (302 if user is None else 403)
    run.refresh_from_db()
    assert run.status == "failed" and not InvoiceLine.objects.exists()
    sari_finance = UserFactory(username="sarifin")
    member(sari_finance, w.sari, Role.FINANCE)
    for allowed in (sari_finance, w.admin):
        InvoiceRun.objects.filter(pk=run.pk).update(status="failed")
        with django_capture_on_commit_callbacks(execute=True):
            assert w.client(allowed).post(f"{RUNS}{run.pk}/resume/").status_code == 202
    assert_billed_exactly_once()
    assert w.client(w.finance).post(f"{RUNS}999999/resume/").status_code == 404
