"""Charts that do not mislead: a common 0–100 % scale with units, periods counted up to now, a period
picker; finance charts on a round axis in yuan."""

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from common.time import local_tz
from frontend.views.finance import bars, nice_ceiling
from frontend.views.utilisation import BAR_WIDTH, period_choices, utilisation_for


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def fake_report(shares: dict[str, str], seen: list):
    def report(facility, period):
        seen.append(period)
        items = [
            SimpleNamespace(
                instrument=SimpleNamespace(code=code, pk=n),
                figures=SimpleNamespace(
                    utilisation=Decimal(share),
                    used_minutes=60,
                    booked_minutes=60,
                    available_minutes=600,
                    shared_minutes=0,
                    idle_minutes=0,
                ),
            )
            for n, (code, share) in enumerate(shares.items(), start=1)
        ]
        return SimpleNamespace(instruments=items, totals=SimpleNamespace(utilisation=Decimal("0.1")))

    return report


def test_every_bar_is_on_the_same_0_to_100_percent_scale(world, monkeypatch):
    seen: list = []
    monkeypatch.setattr("reports.selectors.facility_report", fake_report({"A": "0.011", "B": "0.5"}, seen))
    chart = utilisation_for(world.facility, "2025-03")
    small, half = chart["rows"]
    # 1.1 % is a sliver of the axis, not a nearly full bar; 50 % is half of it.
    assert small["width"] == pytest.approx(0.011 * BAR_WIDTH, abs=0.1)
    assert half["width"] == pytest.approx(0.5 * BAR_WIDTH)
    assert [t["label"] for t in chart["ticks"]] == [0, 25, 50, 75, 100]
    assert chart["until"] is None and seen[0].end == dt.datetime(2025, 4, 1, tzinfo=local_tz())


def test_a_period_not_yet_ended_counts_up_to_now(world, monkeypatch):
    seen: list = []
    monkeypatch.setattr("reports.selectors.facility_report", fake_report({"A": "0.2"}, seen))
    now = dt.datetime(2026, 5, 10, 12, 0, tzinfo=local_tz())
    chart = utilisation_for(world.facility, "2026", now=now)
    assert chart["period"] == "2026" and chart["until"] == now
    assert seen[0].start == dt.datetime(2026, 1, 1, tzinfo=local_tz()) and seen[0].end == now


def test_a_period_not_yet_begun_is_refused_in_words(world):
    page = client_for(world.manager).get(reverse("frontend:console_facility", args=["FAC"]), {"period": "2099"})
    assert page.status_code == 200
    assert "2099 has not begun yet" in page.content.decode()


def test_the_page_offers_a_period_picker_and_labels_its_axis(world):
    page = client_for(world.manager).get(reverse("frontend:console_facility", args=["FAC"])).content.decode()
    assert '<select id="util-period" name="period">' in page
    this_year = str(timezone.localdate().year)
    assert f'<option value="{this_year}"' in page
    assert "percent of the instrument's open hours" in page and ">100%</text>" in page
    assert " style=" not in page  # the Content-Security-Policy forbids style attributes


def test_period_choices():
    now = dt.datetime(2026, 1, 15, tzinfo=local_tz())
    choices = period_choices(now)
    assert choices["months"][:3] == ["2026-01", "2025-12", "2025-11"] and len(choices["months"]) == 13
    assert choices["quarters"] == ["2026-Q1", "2025-Q4", "2025-Q3", "2025-Q2", "2025-Q1"]
    assert choices["years"] == ["2026", "2025", "2024"]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [("0", "1"), ("0.4", "1"), ("7", "10"), ("1234.56", "2000"), ("2400", "2500"), ("5000", "5000"), ("-300", "500")],
)
def test_round_axis_ceiling(value, ceiling):
    assert nice_ceiling(Decimal(value)) == Decimal(ceiling)


def test_finance_bars_sit_on_a_round_axis():
    chart = bars([("A", Decimal("1234.56")), ("B", Decimal("-100"))])
    assert [t["value"] for t in chart["ticks"]] == [0, 500, 1000, 1500, 2000]
    assert chart["items"][0]["w"] == pytest.approx(1234.56 / 2000 * 320, abs=0.1)
    assert chart["items"][1]["w"] == pytest.approx(100 / 2000 * 320, abs=0.1)


def test_finance_console_charts_name_their_unit(world):
    page = client_for(world.finance).get(reverse("frontend:finance")).content.decode()
    assert "Amount, yuan (CNY)" in page
    assert re.search(r'class="tick"[^>]*>0</text>', page)


def test_the_chart_reads_in_chinese(world):
    c = client_for(world.manager)
    c.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/console/"})
    page = c.get(reverse("frontend:console_facility", args=["FAC"]), {"period": "2099"}).content.decode()
    assert "所有仪器同一刻度" in page and "季度" in page and "2099 尚未开始" in page
