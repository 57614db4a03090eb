from django.core.management.base import BaseCommand

from billing.models import Invoice
from billing.tasks import send_invoice_to_stripe


class Command(BaseCommand):
    help = "Send again to Stripe the issued invoices whose sending failed (the same idempotent requests)."

    def handle(self, *args, **options):
        ids = list(Invoice.objects.filter(status="issued", stripe_status="failed").values_list("pk", flat=True))
        for pk in ids:
            send_invoice_to_stripe.delay(pk)
        self.stdout.write(f"{len(ids)} invoices handed to the Stripe task.")
