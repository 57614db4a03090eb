from django.core.management.base import BaseCommand

from facilities.seed import load_demo_groups


class Command(BaseCommand):
    help = "Create the demo research group of wei.zhang, with the student jing.li and a monthly limit (idempotent)."

    def handle(self, *args, **options):
        counts = load_demo_groups()
        self.stdout.write("Demo groups: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
