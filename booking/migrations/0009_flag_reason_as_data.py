"""A calendar flag's reason becomes data (a code and parameters) so each reader gets it in their own
language. Existing rows: the English sentences the platform wrote are mapped back; anything else stays
as free text (code `text`)."""

import re

from django.db import migrations, models

# The English sentences flags were written with (facilities/calendar.py before reasons were data).
HOURS = "it is outside the operating hours"
HOLIDAY = re.compile(r"^the facility is closed on (\d{4}-\d{2}-\d{2}) \((.*)\)$")
CLOSURE = re.compile(r"^of a closure \((.*)\)$", re.S)
FESTIVALS = {
    "New Year's Day": "new_year",
    "Spring Festival": "spring_festival",
    "Qingming Festival": "qingming",
    "Labour Day": "labour_day",
    "Dragon Boat Festival": "dragon_boat",
    "Mid-Autumn Festival": "mid_autumn",
    "National Day": "national_day",
    "Other public holiday": "other",
}
CLOSURE_KINDS = {"maintenance": "maintenance", "shutdown": "shutdown", "holiday": "holiday"}


def as_data(reason: str) -> tuple[str, dict]:
    if reason == HOURS:
        return "hours", {}
    if m := HOLIDAY.match(reason):
        name, provisional = m[2], m[2].endswith(", provisional")
        name = name.removesuffix(", provisional")
        if name in FESTIVALS or name == "public holiday":
            return "holiday", {"date": m[1], "festival": FESTIVALS.get(name), "provisional": provisional}
    if m := CLOSURE.match(reason):
        what = m[1]
        if what in CLOSURE_KINDS:  # a closure without its own reason showed its kind
            return "closure", {"closure_kind": CLOSURE_KINDS[what], "text": ""}
        return "closure", {"closure_kind": "", "text": what}
    return "text", {"text": reason}


def forwards(apps, schema_editor):
    CalendarFlag = apps.get_model("booking", "CalendarFlag")
    for flag in CalendarFlag.objects.filter(reason_code="text").only("pk", "reason").iterator():
        code, params = as_data(flag.reason)
        CalendarFlag.objects.filter(pk=flag.pk).update(reason_code=code, reason_params=params)


def backwards(apps, schema_editor):
    pass  # the English `reason` was kept on every row


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0008_booking_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarflag",
            name="reason_code",
            field=models.CharField(
                choices=[
                    ("closure", "A closure"),
                    ("hours", "Outside the operating hours"),
                    ("holiday", "A public holiday"),
                    ("text", "Free text (flags from before reasons were stored as data)"),
                ],
                default="text",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="calendarflag",
            name="reason_params",
            field=models.JSONField(
                blank=True, default=dict, help_text="The closure's own reason, or the holiday's date and festival."
            ),
        ),
        migrations.AlterField(
            model_name="calendarflag",
            name="reason",
            field=models.CharField(
                help_text="Why the booked time is closed now, in English words, as recorded.", max_length=500
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
