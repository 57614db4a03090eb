"""No input reaches a 500: numbers are ASCII digits within what the database can hold, months fall in years
the platform can count with. Each case here gave a 500 (or closed a socket with 1011) before common/parsing.py
decided these once for every caller."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from billing.models import InvoiceRun
from common.parsing import MAX_ID, ascii_digits, is_id, parse_month

from .live_helpers import run
from .test_live_availability import connect, live_settings, subscribe  # noqa: F401 (live_settings: a fixture)

NOT_ASCII_DIGITS = ["³", "²", "١", "３", "٣", "𝟙", "⑴"]


@given(st.text(max_size=8))
def test_ascii_digits_is_exactly_what_int_reads_as_decimal(text):
    if ascii_digits(text):
        assert int(text) >= 0 and all("0" <= c <= "9" for c in text)
    else:
        assert not text or any(not "0" <= c <= "9" for c in text)


@given(st.integers(min_value=-(2**70), max_value=2**70) | st.booleans() | st.floats() | st.none())
def test_is_id_is_a_positive_whole_number_the_database_can_hold(value):
    assert is_id(value) == (type(value) is int and 1 <= value <= MAX_ID)


@pytest.mark.parametrize("text", ["0000-01", "9999-12", "1899-12", "2201-01", "２０２６-10", "2026-１0", "2026-13"])
def test_months_outside_the_countable_years_or_digits_are_refused(text):
    with pytest.raises(ValidationError) as exc:
        parse_month(text)
    assert "period" in exc.value.message_dict


@pytest.mark.parametrize("digit", NOT_ASCII_DIGITS)
def test_joint_search_refuses_digits_that_are_not_ascii(world, digit):
    r = world.client(None).get("/api/v1/availability/", {"instruments": digit, "duration_minutes": "60"})
    assert r.status_code == 400 and "not an id" in r.json()["instruments"][0]
    r = world.client(None).get(
        "/api/v1/availability/", {"instruments": str(world.instrument.pk), "duration_minutes": f"6{digit}"}
    )
    assert r.status_code == 400 and "whole number" in r.json()["duration_minutes"][0]


@pytest.mark.parametrize("ids", [str(2**63), str(MAX_ID + 1), "0"])
def test_joint_search_refuses_ids_no_row_can_have(world, ids):
    r = world.client(None).get("/api/v1/availability/", {"instruments": ids, "duration_minutes": "60"})
    assert r.status_code == 400 and "not an id" in r.json()["instruments"][0]


@pytest.mark.parametrize("digit", NOT_ASCII_DIGITS)
def test_booking_list_filter_refuses_digits_that_are_not_ascii(world, digit):
    r = world.client(world.researcher).get("/api/v1/bookings/", {"instrument": digit})
    assert r.status_code == 400 and "whole number" in r.json()["instrument"][0]


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "٢٠٢٦-10"])
def test_invoice_run_for_an_uncountable_month_is_a_400(world, period):
    r = world.client(world.finance).post("/api/v1/invoices/runs/", {"period": period}, format="json")
    assert r.status_code == 400 and r.json()["period"], r.content
    r = world.client(world.finance).get("/api/v1/invoices/", {"period": period})
    assert r.status_code == 400
    assert not InvoiceRun.objects.exists()


@pytest.mark.parametrize("period", ["0000-01", "9999-12"])
def test_finance_form_refuses_an_uncountable_month_in_words(world, period):
    c = Client()
    c.force_login(world.finance)
    r = c.post(reverse("frontend:run_invoices"), {"period": period})
    assert r.status_code == 400 and "The year must lie between 1900 and 2200." in r.content.decode()
    assert c.get(reverse("frontend:finance"), {"period": period}).status_code == 200
    assert not InvoiceRun.objects.exists()


@pytest.mark.parametrize("ident", [2**63, 2**64 + 5, MAX_ID + 1])
def test_live_subscribe_with_an_id_past_the_database_gets_an_error_message(world, ident, tomorrow_9):
    async def scenario():
        ws = await connect()
        await subscribe(ws, [ident], tomorrow_9, tomorrow_9 + (tomorrow_9 - tomorrow_9.replace(hour=8)))
        error = await ws.receive_json_from(timeout=10)
        assert error["type"] == "error" and "positive whole numbers" in error["detail"], error
        await subscribe(ws, [world.instrument.pk], tomorrow_9, tomorrow_9.replace(hour=10))
        assert (await ws.receive_json_from(timeout=10))["type"] == "snapshot"
        await ws.disconnect(timeout=10)

    run(scenario)


def test_a_month_written_well_still_runs(world):
    r = world.client(world.finance).post("/api/v1/invoices/runs/", {"period": " 2026-10 "}, format="json")
    assert r.status_code in (201, 202), r.content
    assert json.loads(r.content)["period"] == "2026-10"
