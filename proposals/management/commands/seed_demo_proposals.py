from django.core.management.base import BaseCommand

from proposals.demo import load_demo_proposals


class Command(BaseCommand):
    help = "SSRF's 2027-1 call with proposals, reviews, awards, sessions and a forfeited shift (idempotent)."

    def handle(self, *args, **options):
        counts = load_demo_proposals()
        self.stdout.write("Demo proposals: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
