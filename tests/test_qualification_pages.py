"""The instrument page says whether the viewer is qualified and lets them ask; the manager's console
lists the requests to grant (optionally until a day) or decline."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from facilities import services
from facilities.models import QualificationRequest
from facilities.selectors import is_qualified

from .factories.facilities import FacilityFactory, InstrumentFactory, UserFactory, member


@pytest.fixture
def gated(world):
    world.instrument.requires_qualification = True
    world.instrument.save()
    return world.instrument


def page(client, instrument) -> str:
    resp = client.get(f"/instruments/{instrument.pk}/")
    assert resp.status_code == 200
    return resp.content.decode()


def console(world) -> str:
    return f"/console/facilities/{world.facility.code}/"


def test_instrument_page_tells_each_state(world, gated, client):
    assert 'data-state="anonymous"' in page(client, gated)
    client.force_login(world.researcher)
    html = page(client, gated)
    assert 'data-state="unqualified"' in html and 'id="ask-qualification"' in html
    resp = client.post(f"/instruments/{gated.pk}/qualification/ask/", {"note": "Trained in May"}, follow=True)
    assert resp.status_code == 200 and "Your request is sent" in resp.content.decode()
    assert 'data-state="pending"' in resp.content.decode()
    request = QualificationRequest.objects.get()
    assert request.note == "Trained in May" and request.user == world.researcher
    services.qualification_request_grant(
        actor=world.manager, request_id=request.pk, expires_on=timezone.localdate() + dt.timedelta(days=30)
    )
    html = page(client, gated)
    day = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    assert 'data-state="qualified"' in html and day in html and 'id="ask-qualification"' not in html


def test_no_box_when_no_qualification_is_needed(world, client):
    client.force_login(world.researcher)
    assert 'id="qualification"' not in page(client, world.instrument)


def test_page_in_chinese(world, gated, client):
    client.force_login(world.researcher)
    resp = client.get(f"/instruments/{gated.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = resp.content.decode()
    assert "申请资质" in html and "您尚不具备" in html


def test_asking_twice_or_anonymously(world, gated, client):
    resp = client.post(f"/instruments/{gated.pk}/qualification/ask/", {"note": ""})
    assert resp.status_code == 302 and "/login" in resp["Location"]
    assert not QualificationRequest.objects.exists()
    client.force_login(world.researcher)
    client.post(f"/instruments/{gated.pk}/qualification/ask/", {"note": ""})
    client.post(f"/instruments/{gated.pk}/qualification/ask/", {"note": ""})
    assert QualificationRequest.objects.count() == 1
    resp = client.post(f"/instruments/{gated.pk}/qualification/ask/", {"note": "x" * 1001}, follow=True)
    assert resp.status_code == 200 and QualificationRequest.objects.count() == 1
    assert client.get(f"/instruments/{gated.pk}/qualification/ask/").status_code == 405


def test_console_grant_and_decline(world, gated, client):
    other = UserFactory(username="other")
    member(other, world.ustc, "researcher")
    first = services.qualification_request_create(actor=world.researcher, instrument_id=gated.pk, note="May school")
    second = services.qualification_request_create(actor=other, instrument_id=gated.pk)
    client.force_login(world.manager)
    html = client.get(console(world)).content.decode()
    assert f'id="qualification-request-{first.pk}"' in html and "May school" in html
    url = f"{console(world)}qualification-requests/{first.pk}/grant/"
    last = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    resp = client.post(url, {"expires_on": last}, follow=True)
    assert "res is qualified on BL1" in resp.content.decode()
    assert is_qualified(user=world.researcher, instrument=gated)
    # Declining needs a reason.
    url = f"{console(world)}qualification-requests/{second.pk}/decline/"
    resp = client.post(url, {"reason": ""}, follow=True)
    assert "Say why" in resp.content.decode()
    client.post(url, {"reason": "Book the training first"})
    second.refresh_from_db()
    assert second.status == "declined" and second.reason == "Book the training first"
    # Deciding twice is refused in words; an unknown action is a 404.
    resp = client.post(url, {"reason": "again"}, follow=True)
    assert "already decided" in resp.content.decode()
    assert client.post(f"{console(world)}qualification-requests/{second.pk}/maybe/", {}).status_code == 404


def test_console_you_may_not_touch_this(world, gated, client):
    request = services.qualification_request_create(actor=world.researcher, instrument_id=gated.pk)
    url = f"{console(world)}qualification-requests/{request.pk}/grant/"
    for user in (world.researcher, world.outsider, world.finance):
        client.force_login(user)
        assert client.post(url, {}).status_code in (403, 404)
    client.logout()
    assert client.post(url, {}).status_code == 302  # to sign in
    # A manager of another facility: neither through their own facility's address nor through this one.
    elsewhere = FacilityFactory(code="ELSE", host=world.sari)
    other_manager = UserFactory(username="mgr2")
    member(other_manager, world.sari, "facility_manager", [elsewhere])
    client.force_login(other_manager)
    assert client.post(url, {}).status_code == 404
    assert client.post(f"/console/facilities/ELSE/qualification-requests/{request.pk}/grant/", {}).status_code == 404
    request.refresh_from_db()
    assert request.is_pending


def test_console_queries_do_not_grow_with_requests(world, gated, client):
    client.force_login(world.manager)

    def ask(n: int) -> None:
        for _k in range(n):
            person = UserFactory()
            member(person, world.ustc, "researcher")
            instrument = InstrumentFactory(facility=world.facility, requires_qualification=True)
            services.qualification_request_create(actor=person, instrument_id=instrument.pk)

    ask(1)
    with CaptureQueriesContext(connection) as few:
        assert client.get(console(world)).status_code == 200
    ask(5)
    with CaptureQueriesContext(connection) as many:
        assert client.get(console(world)).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
