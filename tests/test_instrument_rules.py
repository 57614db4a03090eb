"""Managers set an instrument's booking rules and auto-approval without the Django admin: from the console
and the API, audited under their name; nobody else may."""

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from facilities.models import Instrument

from .factories.facilities import FacilityFactory, UserFactory, member


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def rules_url(world):
    return f"/api/v1/instruments/{world.instrument.pk}/rules/"


def test_manager_changes_rules_over_the_api_and_the_audit_names_them(world):
    c = world.client(world.manager)
    v0 = Instrument.objects.get(pk=world.instrument.pk).availability_version
    r = c.patch(rules_url(world), {"requires_approval": True, "min_minutes": 120, "horizon_days": 30}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["requires_approval"] is True and r.json()["min_minutes"] == 120
    inst = Instrument.objects.get(pk=world.instrument.pk)
    assert inst.requires_approval and inst.min_minutes == 120 and inst.horizon_days == 30
    assert inst.availability_version == v0 + 1
    entry = LogEntry.objects.get_for_object(inst).order_by("-pk").first()
    assert entry.actor == world.manager and "min_minutes" in entry.changes_dict
    assert c.get(rules_url(world)).json()["horizon_days"] == 30


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"min_minutes": 90}, "min_minutes", "multiple of the booking unit"),
        ({"min_minutes": 600, "max_minutes": 120}, "max_minutes", "cannot be shorter"),
        ({"booking_unit_minutes": 7}, "booking_unit_minutes", "divide a day"),
        ({"horizon_days": "many"}, "horizon_days", ""),
        ({"active": False}, "active", "not a booking rule"),
        ({"requires_approval": "maybe"}, "requires_approval", ""),
    ],
)
def test_bad_rules_are_refused_in_words(world, body, field, words):
    r = world.client(world.manager).patch(rules_url(world), body, format="json")
    assert r.status_code == 400 and field in r.json() and words in str(r.json()), r.json()
    assert Instrument.objects.get(pk=world.instrument.pk).min_minutes == 60


def test_who_may_not_change_rules(world):
    stranger = UserFactory(username="else-mgr")
    member(stranger, world.zju, "facility_manager", [FacilityFactory(code="ELSE")])
    for user in (stranger, world.researcher, world.finance):
        assert world.client(user).patch(rules_url(world), {"requires_approval": True}, format="json").status_code == 403
        assert world.client(user).get(rules_url(world)).status_code == 403
    assert world.client(None).patch(rules_url(world), {"requires_approval": True}, format="json").status_code in (
        401,
        403,
    )
    page = reverse("frontend:instrument_rules", args=["FAC", world.instrument.pk])
    assert client_for(stranger).get(page).status_code == 404
    assert client_for(world.researcher).post(page, {"min_minutes": 120}).status_code == 403
    assert client_for().get(page).status_code == 302
    assert not Instrument.objects.get(pk=world.instrument.pk).requires_approval


def form_data(instrument, **changes):
    from facilities.services import RULE_FIELDS

    data = {name: getattr(instrument, name) for name in RULE_FIELDS}
    data.update(changes)
    return {k: ("" if v is None else ("on" if v is True else v)) for k, v in data.items() if v is not False}


def test_manager_changes_rules_on_the_console(world):
    page = reverse("frontend:instrument_rules", args=["FAC", world.instrument.pk])
    c = client_for(world.manager)
    assert "Requests need a manager" in c.get(page).content.decode()
    r = c.post(page, form_data(world.instrument, requires_approval=True, auto_approve_host=True), follow=True)
    assert "The rules of BL1 are saved." in r.content.decode()
    inst = Instrument.objects.get(pk=world.instrument.pk)
    assert inst.requires_approval and inst.auto_approve_host
    assert LogEntry.objects.get_for_object(inst).order_by("-pk").first().actor == world.manager
    bad = c.post(page, form_data(world.instrument, min_minutes=90))
    assert bad.status_code == 400 and "multiple of the booking unit" in bad.content.decode()


def test_the_rules_page_reads_in_chinese(world):
    c = client_for(world.manager)
    c.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/console/"})
    html = c.get(reverse("frontend:instrument_rules", args=["FAC", world.instrument.pk])).content.decode()
    assert "预约规则" in html and "需经管理员批准" in html


def test_the_endpoint_is_in_the_schema(world):
    schema = world.client(world.admin).get("/api/v1/schema/").content.decode()
    assert "/api/v1/instruments/{id}/rules/" in schema
