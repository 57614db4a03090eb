"""Invoice runs that survive their process: a lease renewed while a run works, stale runs marked failed with
the reason, and resuming a failed or stale run.

A process takes a run up by claiming it: one UPDATE that succeeds only for a pending or failed run, or one
whose heartbeat is older than INVOICE_RUN_LEASE_SECONDS, and that writes a fresh lease token. While it
works it renews the heartbeat, and every write to the run names its token, so a process that lost the
run to another (it was presumed dead and resumed) stops at its next step instead of writing over it.

Nothing is billed twice whatever happens: a run bills only charge lines not yet on an invoice, each
group of lines in one transaction, and the database refuses a charge line billed twice
(`invoice_line_bills_charge_once`). A process killed mid-run loses only its open transaction; resuming
the run bills what is left."""

import datetime as dt
import time
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict
from common.time import local_tz
from facilities.models import Membership, User
from facilities.models.tenants import Role

from ..models import InvoiceRun
from ..selectors import runs_visible_to
from .background import EXECUTE_INVOICE_RUN, enqueue_on_commit

Status = InvoiceRun.Status


def may_run_invoices(user) -> bool:
    """Finance staff of any institution and platform admins start and resume invoice runs."""
    return bool(user and user.is_authenticated) and (
        user.is_superuser or Membership.objects.filter(user=user, role=Role.FINANCE).exists()
    )


class RunTakenOver(Exception):
    """Another process holds this run's lease now: stop without writing to it."""


def lease_seconds() -> int:
    return max(int(settings.INVOICE_RUN_LEASE_SECONDS), 1)


def _stale_q(now: dt.datetime) -> Q:
    """Pending or running, with no sign of life within the lease."""
    return Q(status__in=[Status.PENDING, Status.RUNNING], heartbeat_at__lt=now - dt.timedelta(seconds=lease_seconds()))


def claim(run_id: int) -> InvoiceRun | None:
    """Take the run up for this process, or None when it is done or another process is alive on it."""
    now = timezone.now()
    token = uuid.uuid4().hex
    takeable = Q(status__in=[Status.PENDING, Status.FAILED]) | _stale_q(now)
    taken = (
        InvoiceRun.objects.filter(Q(pk=run_id) & takeable)
        .exclude(status=Status.DONE)
        .update(status=Status.RUNNING, lease=token, heartbeat_at=now, attempts=F("attempts") + 1, error="")
    )
    return InvoiceRun.objects.get(pk=run_id) if taken else None


class Lease:
    """The claim of one process on one run. `beat()` renews it at most every few seconds unless forced;
    `save()` writes the run's fields only while the lease is still this process's."""

    def __init__(self, run: InvoiceRun) -> None:
        self.run = run
        self.token = run.lease
        self.every = min(30.0, lease_seconds() / 4)
        self.last = time.monotonic()

    def _mine(self):
        return InvoiceRun.objects.filter(pk=self.run.pk, lease=self.token, status=Status.RUNNING)

    def beat(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.last < self.every:
            return
        self.save()

    def save(self, *fields: str, **changes) -> None:
        values = {name: getattr(self.run, name) for name in fields}
        values.update(changes)
        values.setdefault("heartbeat_at", timezone.now())
        if not self._mine().update(**values):
            raise RunTakenOver(f"Invoice run #{self.run.pk} is no longer held by this process.")
        for name, value in values.items():
            setattr(self.run, name, value)
        self.last = time.monotonic()


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment, local_tz()).strftime("%Y-%m-%d %H:%M")


def stale_reason(run: InvoiceRun) -> str:
    if run.status == Status.PENDING:
        return _("No worker took this run up since %(t)s; it may have been lost. Resume it to carry it out.") % {
            "t": _when(run.heartbeat_at)
        }
    return _(
        "The process carrying out this run stopped (no sign of life since %(t)s). What it billed stays billed; "
        "resume the run to bill the rest."
    ) % {"t": _when(run.heartbeat_at)}


def invoice_runs_fail_stale(*, now: dt.datetime | None = None) -> int:
    """Mark every stale run failed, with the reason, so that nobody waits on it and finance can resume it.
    Returns how many were marked. A run whose process comes back to life meanwhile is left alone."""
    now = now or timezone.now()
    marked = 0
    for run in InvoiceRun.objects.filter(_stale_q(now)).order_by("pk"):
        marked += (
            InvoiceRun.objects.filter(pk=run.pk, status=run.status, heartbeat_at=run.heartbeat_at)
            .filter(_stale_q(now))
            .update(status=Status.FAILED, error=stale_reason(run)[:2000], finished_at=now, lease="")
        )
    return marked


def invoice_run_resume(*, run_id: int, actor: User | None) -> InvoiceRun:
    """Carry out a failed or stale run again, from where its lines stand: what it billed stays billed, the
    rest is billed now. A run that is done, or still alive, is a 409."""
    if actor is not None and not may_run_invoices(actor):
        raise PermissionDenied(_("Only finance staff and platform administrators may run invoices."))
    with transaction.atomic():
        qs = InvoiceRun.objects.all() if actor is None else runs_visible_to(actor)
        run = qs.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise Http404(_("No such invoice run, or you may not see it."))
        if run.status == Status.DONE:
            raise Conflict("invalid_transition", _("This invoice run is done; start a new run to bill later charges."))
        if run.status in (Status.PENDING, Status.RUNNING) and not run.is_stale:
            raise Conflict(
                "run_in_progress",
                _("This invoice run is still %(status)s (last sign of life %(t)s); it cannot be resumed now.")
                % {"status": run.get_status_display().lower(), "t": _when(run.heartbeat_at)},
            )
        run.status = Status.PENDING
        run.lease = ""
        run.heartbeat_at = timezone.now()
        run.finished_at = None
        run.save(update_fields=["status", "lease", "heartbeat_at", "finished_at"])
        enqueue_on_commit(EXECUTE_INVOICE_RUN, run.pk)
    return run
