from django.core.management.base import BaseCommand

from federation import services


class Command(BaseCommand):
    help = "Read the federation's metadata (FEDERATION_METADATA, or the file or URL given); sync its providers."

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", default=None, help="A metadata file path or URL.")

    def handle(self, *args, source=None, **options):
        counts = services.refresh_federation_metadata(source=source)
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()) or "FEDERATION_METADATA is not set.")
