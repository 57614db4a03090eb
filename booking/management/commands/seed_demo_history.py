from django.core.management.base import BaseCommand

from booking.demo import load_demo_history


class Command(BaseCommand):
    help = (
        "Write about three months of past bookings and a few upcoming ones for the demo accounts "
        "(needs seed_catalog and seed_demo_people first). Deterministic and idempotent."
    )

    def handle(self, *args, **options):
        counts = load_demo_history()
        self.stdout.write(f"Demo history: {counts['created']} bookings written, {counts['skipped']} already there")
