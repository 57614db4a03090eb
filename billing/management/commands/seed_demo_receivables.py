from django.core.management.base import BaseCommand

from billing.demo_receivables import load_demo_receivables


class Command(BaseCommand):
    help = "Demo bank accounts, payers' fapiao details and a bank statement per issuer, matched (idempotent)."

    def handle(self, *args, **options):
        counts = load_demo_receivables()
        self.stdout.write("Demo receivables: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
