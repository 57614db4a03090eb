from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Load the catalog, the demo accounts and the demo history, in the order settings.SANJIAO_DEMO_COMMANDS "
        "lists them (each app contributes its own step). Idempotent: a second run changes nothing."
    )

    def handle(self, *args, **options):
        for name in settings.SANJIAO_DEMO_COMMANDS:
            call_command(name, stdout=self.stdout, stderr=self.stderr)
