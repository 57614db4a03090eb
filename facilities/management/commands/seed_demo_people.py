from django.core.management.base import BaseCommand

from facilities.seed import load_demo_people


class Command(BaseCommand):
    help = "Create the demo accounts of the README (password sanjiao-demo) and their funding accounts (idempotent)."

    def handle(self, *args, **options):
        counts = load_demo_people()
        self.stdout.write("Demo people: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
