from django.core.management.base import BaseCommand

from usage.demo import load_demo_usage


class Command(BaseCommand):
    help = "Demo recorded use of the demo history's bookings, a few walk-ups and usage settings (idempotent)."

    def handle(self, *args, **options):
        counts = load_demo_usage()
        self.stdout.write(f"Demo usage: {counts['sessions']} sessions")
