from django.core.management.base import BaseCommand

from billing.demo import load_demo_billing


class Command(BaseCommand):
    help = (
        "Demo charge policies, a host subsidy, an innovation voucher and the past three months' invoices (idempotent)."
    )

    def handle(self, *args, **options):
        counts = load_demo_billing()
        self.stdout.write("Demo billing: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
