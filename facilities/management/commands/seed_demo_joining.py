from django.core.management.base import BaseCommand

from facilities.seed import load_demo_joining


class Command(BaseCommand):
    help = "Give the demo institutions their e-mail domains and join policies (idempotent)."

    def handle(self, *args, **options):
        counts = load_demo_joining()
        self.stdout.write("Demo joining: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
