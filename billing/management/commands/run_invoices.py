from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing.periods import parse_period, previous_period
from billing.services.invoicing import run_period


class Command(BaseCommand):
    help = "Build a month's invoices (default: last month, Asia/Shanghai). Running it again changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("period", nargs="?", help="YYYY-MM")

    def handle(self, *args, period=None, **options):
        try:
            period = parse_period(period) if period else previous_period()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        run = run_period(period=period)
        self.stdout.write(
            f"{run.period}: {run.lines_added} lines placed on {run.invoices_touched} invoices "
            f"({run.charges_computed} charges computed for bookings that had none)."
        )
