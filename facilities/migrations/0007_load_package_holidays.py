"""The public-holiday schedules the chinesecalendar package knows (2004 onwards), written once: public
facts that every deployment needs, so they are data, not demo. Years a newer package learns are added by
`manage.py import_holidays --from-package` (run by `make run` and the Procfile's release)."""

from django.db import migrations

# chinesecalendar's English names → facilities.models.Festival values, as of this migration.
NAMES = {
    "New Year's Day": "new_year",
    "Spring Festival": "spring_festival",
    "Tomb-sweeping Day": "qingming",
    "Labour Day": "labour_day",
    "Dragon Boat Festival": "dragon_boat",
    "Mid-autumn Festival": "mid_autumn",
    "National Day": "national_day",
}


def load(apps, schema_editor):
    from chinese_calendar import constants

    Schedule = apps.get_model("facilities", "HolidaySchedule")
    Day = apps.get_model("facilities", "HolidayDay")
    by_year: dict = {}
    for table, kind in ((constants.holidays, "holiday"), (constants.workdays, "workday")):
        for date, holiday in table.items():
            by_year.setdefault(date.year, []).append(
                (date, kind, NAMES.get(getattr(holiday, "value", holiday), "other"))
            )
    have = set(Schedule.objects.values_list("year", flat=True))
    for year, days in sorted(by_year.items()):
        if year in have or not 2000 <= year <= 2099:
            continue
        schedule = Schedule.objects.create(year=year, source="package")
        Day.objects.bulk_create(Day(schedule=schedule, date=d, kind=k, festival=f) for d, k, f in sorted(days))


def unload(apps, schema_editor):
    apps.get_model("facilities", "HolidaySchedule").objects.filter(source="package").delete()


class Migration(migrations.Migration):
    dependencies = [("facilities", "0006_holiday_calendar")]
    operations = [migrations.RunPython(load, unload)]
