"""Background work that billing's services ask for, handed to Celery by task name once the transaction commits.

The tasks (billing/tasks.py) are thin adapters over these services, so a service must not import them back:
it names the task instead. Each name is stated here once and tasks.py registers its task under it.
BillingConfig.ready imports the tasks, so every process that can call a service (web, worker, beat, shell)
knows them by name, and where tasks run in-process they still run only after the commit.
"""

from celery import current_app
from django.db import transaction

EXECUTE_INVOICE_RUN = "billing.execute_invoice_run"
SEND_INVOICE_TO_STRIPE = "billing.send_invoice_to_stripe"
VOID_INVOICE_IN_STRIPE = "billing.void_invoice_in_stripe"


def enqueue_on_commit(task_name: str, *args: int) -> None:
    """Start `task_name` with `args` once the current transaction commits (at once outside a transaction).

    Looked up in the task registry rather than sent by bare name, so an unregistered name fails loudly
    instead of queueing work nothing will take, and an in-process setup runs the task eagerly."""
    transaction.on_commit(lambda: current_app.tasks[task_name].delay(*args))
