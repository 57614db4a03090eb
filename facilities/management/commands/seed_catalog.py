from django.core.management.base import BaseCommand

from facilities.seed import load_catalog


class Command(BaseCommand):
    help = "Load the Yangtze River Delta facility catalog (idempotent)."

    def handle(self, *args, **options):
        counts = load_catalog()
        self.stdout.write("Catalog: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
