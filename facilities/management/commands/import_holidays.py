"""Enter a year's public-holiday schedule from a file, or load the years the chinesecalendar package knows.

    manage.py import_holidays holidays-2027.csv --notice "国办发明电〔2026〕7号"
    manage.py import_holidays --from-package
    manage.py import_holidays --remove 2027

The file format is described in docs/calendar.md (one day per line: `2027-01-01,holiday,new_year`).
"""

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from facilities.holidays import parse_schedule
from facilities.services import holiday_schedule_remove, holiday_schedule_set, holidays_load_package


class Command(BaseCommand):
    help = "Import a year's public-holiday schedule (State Council notice) from a file, or load the package's years."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="the schedule, UTF-8 text; '-' reads standard input")
        parser.add_argument("--notice", default="", help="the notice it comes from (number or address)")
        parser.add_argument(
            "--from-package",
            action="store_true",
            help="load the years the installed chinesecalendar package knows and the database lacks",
        )
        parser.add_argument("--remove", type=int, metavar="YEAR", help="forget a year's schedule (provisional again)")

    def handle(self, *args, **options):
        if options["from_package"]:
            years = holidays_load_package()
            self.stdout.write("Loaded from the package: " + (", ".join(map(str, years)) or "nothing new"))
            return
        if options["remove"]:
            removed = holiday_schedule_remove(actor=None, year=options["remove"])
            self.stdout.write(f"{options['remove']}: " + ("removed; provisional again" if removed else "had none"))
            return
        name = options["file"]
        if not name:
            raise CommandError("Name a schedule file (or '-'), or give --from-package or --remove YEAR.")
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {name}: {exc}") from None
        try:
            year, days = parse_schedule(text)
            holiday_schedule_set(actor=None, year=year, days=days, notice=options["notice"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        holidays = sum(1 for _d, kind, _f in days if kind == "holiday")
        self.stdout.write(f"{year}: {holidays} holidays and {len(days) - holidays} make-up workdays in force.")
