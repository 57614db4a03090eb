"""China's public-holiday calendar: the one place that answers "is this a working day, a public holiday or
a make-up workday?" (`office_days`), from the schedules kept in the database.

- A year with a `HolidaySchedule` row follows it exactly: its holidays are days off, its make-up workdays
  (weekend days worked in exchange, 调休) are open with workday hours.
- A year without one (the State Council usually publishes the next year's schedule in November or
  December) gets the statutory holidays of the national holiday regulation, **provisionally**: New
  Year's Day, Spring Festival (New Year's Eve and the first three days of the lunar year), Qingming (the
  solar term), Labour Day (1–2 May), Dragon Boat (5th of the 5th lunar month), Mid-Autumn (15th of the
  8th) and National Day (1–3 October). Lunar dates and the solar term are computed with lunar-python,
  never typed in. Provisional days carry `provisional=True` wherever they are shown.

Schedules are entered by platform administrators (the admin's import page, `manage.py
import_holidays`), and the years the chinesecalendar package knows are loaded by a data migration and by
`import_holidays --from-package`. Writes are in facilities/services.py.
"""

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import Festival, HolidayDay, HolidaySchedule

FIRST_YEAR, LAST_YEAR = 2000, 2099

# chinesecalendar's English names → the platform's festivals.
PACKAGE_NAMES = {
    "New Year's Day": Festival.NEW_YEAR,
    "Spring Festival": Festival.SPRING_FESTIVAL,
    "Tomb-sweeping Day": Festival.QINGMING,
    "Labour Day": Festival.LABOUR_DAY,
    "Dragon Boat Festival": Festival.DRAGON_BOAT,
    "Mid-autumn Festival": Festival.MID_AUTUMN,
    "National Day": Festival.NATIONAL_DAY,
}


@dataclass(frozen=True)
class OfficeDay:
    """`kind` is 'holiday' (a day off), 'makeup' (a weekend day worked) or 'normal'."""

    kind: str
    festival: str | None = None
    provisional: bool = False

    @property
    def name(self) -> str:
        return str(Festival(self.festival).label) if self.festival else ""

    def describe(self) -> str:
        """'National Day', or 'New Year's Day, provisional' for a year without a published schedule."""
        if self.provisional:
            return _("%(name)s, provisional") % {"name": self.name}
        return self.name


NORMAL = OfficeDay("normal")


@lru_cache(maxsize=256)
def statutory_days(year: int) -> dict[dt.date, str]:
    """The statutory public holidays of `year` (date → festival), as the national regulation fixes them
    (13 days since 2025), before the State Council arranges the year's bridges and make-up workdays."""
    from lunar_python import Lunar

    def solar(month: int, day: int) -> dt.date:
        s = Lunar.fromYmd(year, month, day).getSolar()
        return dt.date(s.getYear(), s.getMonth(), s.getDay())

    days: dict[dt.date, str] = {dt.date(year, 1, 1): Festival.NEW_YEAR}
    new_year = solar(1, 1)
    for offset in (-1, 0, 1, 2):  # New Year's Eve (除夕) and the first three days of the lunar year
        days[new_year + dt.timedelta(days=offset)] = Festival.SPRING_FESTIVAL
    days[qingming(year)] = Festival.QINGMING
    days[dt.date(year, 5, 1)] = days[dt.date(year, 5, 2)] = Festival.LABOUR_DAY
    days[solar(5, 5)] = Festival.DRAGON_BOAT
    for d in (1, 2, 3):
        days[dt.date(year, 10, d)] = Festival.NATIONAL_DAY
    days.setdefault(solar(8, 15), Festival.MID_AUTUMN)  # when it falls on 1–3 October, one day off serves both
    return {d: f for d, f in sorted(days.items()) if d.year == year}


def qingming(year: int) -> dt.date:
    """The day of the solar term Qingming (清明) in `year`, in China's time."""
    from lunar_python import Solar

    # 清明 falls on 4–6 April; the next solar term (谷雨, about 20 April) is a 气, so the last 节 (a term
    # of the other kind) on or before 20 April is 清明.
    term = Solar.fromYmd(year, 4, 20).getLunar().getPrevJie(True)
    assert term.getName() == "清明", term.getName()
    s = term.getSolar()
    return dt.date(s.getYear(), s.getMonth(), s.getDay())


def office_days(first: dt.date, last: dt.date) -> dict[dt.date, OfficeDay]:
    """Every day in [first, last] that is not an ordinary day, with what it is. One query.

    The only path by which rules, availability and pages learn about public holidays."""
    if last < first:
        return {}
    years = list(range(max(first.year, FIRST_YEAR), min(last.year, LAST_YEAR) + 1))
    rows = HolidaySchedule.objects.filter(year__in=years).values_list(
        "year", "days__date", "days__kind", "days__festival"
    )
    scheduled: set[int] = set()
    found: dict[dt.date, OfficeDay] = {}
    for year, date, kind, festival in rows:
        scheduled.add(year)
        if date is None or not first <= date <= last:
            continue
        if kind == HolidayDay.Kind.HOLIDAY:
            found[date] = OfficeDay("holiday", festival)
        elif date.weekday() >= 5:
            found[date] = OfficeDay("makeup", festival)
    for year in years:
        if year not in scheduled:
            for date, festival in statutory_days(year).items():
                if first <= date <= last:
                    found[date] = OfficeDay("holiday", festival, provisional=True)
    return dict(sorted(found.items()))


def office_day(day: dt.date) -> OfficeDay:
    return office_days(day, day).get(day, NORMAL)


def provisional_years(years: list[int]) -> set[int]:
    """Which of `years` have no published schedule (their statutory holidays apply provisionally)."""
    known = set(HolidaySchedule.objects.filter(year__in=years).values_list("year", flat=True))
    return {y for y in years if FIRST_YEAR <= y <= LAST_YEAR and y not in known}


def year_days(year: int) -> tuple[bool, list[tuple[dt.date, OfficeDay]]]:
    """(provisional, the year's holidays and make-up workdays in date order)."""
    days = office_days(dt.date(year, 1, 1), dt.date(year, 12, 31))
    provisional = not HolidaySchedule.objects.filter(year=year).exists()
    return provisional, list(days.items())


# --- the years the chinesecalendar package knows ------------------------------------------------------


def package_schedules() -> dict[int, list[tuple[dt.date, str, str]]]:
    """year → [(date, kind, festival)] as chinesecalendar knows them (its holidays and make-up workdays)."""
    from chinese_calendar import constants

    out: dict[int, list[tuple[dt.date, str, str]]] = {}
    for table, kind in ((constants.holidays, HolidayDay.Kind.HOLIDAY), (constants.workdays, HolidayDay.Kind.WORKDAY)):
        for date, holiday in table.items():
            festival = PACKAGE_NAMES.get(getattr(holiday, "value", holiday), Festival.OTHER)
            out.setdefault(date.year, []).append((date, str(kind), str(festival)))
    return {year: sorted(days) for year, days in sorted(out.items())}


# --- the file format of a year's schedule ----------------------------------------------------------

LINE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*[,\s]\s*(holiday|workday)\s*[,\s]\s*([a-z_]+)\s*$")
MAX_LINES = 400


def parse_schedule(text: str) -> tuple[int, list[tuple[dt.date, str, str]]]:
    """A year's schedule from text, one day per line: `2027-01-01,holiday,new_year` (commas or spaces;
    `holiday` = a day off, `workday` = a weekend day worked in exchange; festival one of
    Festival's values). Blank lines, lines starting with `#` and a `date,kind,festival` header are
    ignored. Every day must be of one year. Raises ValidationError naming the line."""
    days: list[tuple[dt.date, str, str]] = []
    seen: set[dt.date] = set()
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ValidationError(_("A schedule has at most %(n)d lines.") % {"n": MAX_LINES})
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.replace(" ", "").lower() == "date,kind,festival":
            continue
        m = LINE.match(line)
        if m is None:
            raise ValidationError(
                _("Line %(n)d: expected “YYYY-MM-DD,holiday|workday,festival”, found “%(line)s”.")
                % {"n": number, "line": line[:80]}
            )
        try:
            date = dt.date.fromisoformat(m.group(1))
        except ValueError:
            raise ValidationError(_("Line %(n)d: %(d)s is not a date.") % {"n": number, "d": m.group(1)}) from None
        kind, festival = m.group(2), m.group(3)
        if festival not in Festival.values:
            raise ValidationError(
                _("Line %(n)d: unknown festival “%(f)s”; use one of %(all)s.")
                % {"n": number, "f": festival, "all": ", ".join(Festival.values)}
            )
        if date in seen:
            raise ValidationError(_("Line %(n)d: %(d)s is listed twice.") % {"n": number, "d": date.isoformat()})
        seen.add(date)
        days.append((date, kind, festival))
    if not days:
        raise ValidationError(_("The schedule lists no days."))
    years = {d.year for d, _k, _f in days}
    if len(years) > 1:
        raise ValidationError(
            _("A schedule covers one year; this one has days of %(years)s.")
            % {"years": ", ".join(str(y) for y in sorted(years))}
        )
    check_days(days)
    return years.pop(), sorted(days)


def check_days(days: list[tuple[dt.date, str, str]]) -> None:
    year = days[0][0].year
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(_("The year must be between 2000 and 2099."))
    for date, kind, _festival in days:
        if kind == HolidayDay.Kind.WORKDAY and date.weekday() < 5:
            raise ValidationError(
                _("%(d)s is a weekday: a make-up workday is a Saturday or Sunday worked in exchange.")
                % {"d": date.isoformat()}
            )
    if not any(kind == HolidayDay.Kind.HOLIDAY for _d, kind, _f in days):
        raise ValidationError(_("A year's schedule has at least one public holiday."))
