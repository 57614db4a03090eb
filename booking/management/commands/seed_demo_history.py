from django.core.management.base import BaseCommand, CommandError

from booking.demo import DemoPrerequisiteMissing, load_demo_history


class Command(BaseCommand):
    help = (
        "Write about three months of past bookings and a few upcoming ones for the demo accounts "
        "(needs seed_catalog and seed_demo_people first). Deterministic and idempotent."
    )

    def handle(self, *args, **options):
        try:
            counts = load_demo_history()
        except DemoPrerequisiteMissing as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Demo history: {counts['created']} bookings written, {counts['skipped']} already there")
