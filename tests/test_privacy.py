"""PIPL: a person downloads their own data; a platform administrator anonymises a departed person without
moving a single figure of the invoices or reports, and without losing an audit entry."""

import csv
import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.test import Client
from rest_framework.test import APIClient

from billing.models import Invoice, InvoiceLine
from billing.services.invoicing import invoice_issue, run_period
from booking.models import Booking, NotificationLog
from facilities.models import ApiToken, Membership, Qualification, RateCard, User
from facilities.models.tenants import Role
from facilities.services import person_anonymise, qualification_grant

from .factories.billing import complete
from .factories.facilities import UserFactory, member

TZ = dt.timezone(dt.timedelta(hours=8))
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=TZ)
PURPOSE = "Operando XAS of Pt1/CeO2 for Dr. Zhang's NSFC project"

pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def life(world, django_capture_on_commit_callbacks):
    """The USTC researcher's history: a completed September booking split with the ZJU grant, invoiced
    and issued; a qualification; a notification; an API token (made by signing in, so in the trail)."""
    from booking.services import booking_request

    w = world
    w.outsider_account.members.add(w.researcher)
    RateCard.objects.create(instrument=w.instrument, user_class="external_academic", hourly_rate=Decimal("250.50"))
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_request(
            requester=w.researcher,
            instrument=w.instrument,
            start=SEPT,
            end=SEPT + dt.timedelta(hours=2),
            purpose=PURPOSE,
            splits=[
                {"account": w.researcher_account.pk, "percent": 60},
                {"account": w.outsider_account.pk, "percent": 40},
            ],
            now=SEPT - dt.timedelta(days=1),
        )
        complete(booking)
        run_period(period="2026-09")
        sari_fin = UserFactory(username="sari-fin")
        member(sari_fin, w.sari, Role.FINANCE)
        for invoice in Invoice.objects.all():
            invoice_issue(actor=sari_fin, invoice_id=invoice.pk)
    qualification_grant(actor=w.manager, user=w.researcher, instrument=w.instrument)
    NotificationLog.objects.create(
        key=f"approved:booking-{booking.pk}:0:{w.researcher.pk}",
        kind="approved",
        booking=booking,
        recipient=w.researcher,
        status="sent",
        claimed_at=SEPT,
        sent_at=SEPT,
    )
    r = APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, format="json")
    w.token = r.json()["token"]
    w.booking = booking
    return w


def test_a_person_downloads_their_own_data_as_json(life):
    w = life
    r = APIClient(HTTP_AUTHORIZATION=f"Token {w.token}").get("/api/v1/me/data/")
    assert r.status_code == 200
    data = r.json()
    assert set(data) == {
        "profile", "memberships", "funding_accounts", "bookings", "qualifications", "qualification_requests",
        "notifications", "api_tokens", "linked_identities", "audit_entries",
    }  # fmt: skip
    assert data["profile"]["username"] == "res" and data["profile"]["email"] == "res@example.org"
    assert data["memberships"] == [
        {"institution": "USTC", "institution_name": w.ustc.name, "role": "researcher", "facilities": []}
    ]
    assert {(a["code"], a["as"]) for a in data["funding_accounts"]} == {
        ("USTC-G1", "principal_investigator"),
        ("ZJU-G1", "member"),
    }
    (booking,) = data["bookings"]
    assert booking["purpose"] == PURPOSE and booking["status"] == "completed"
    assert booking["start"] == "2026-09-14T09:00:00+08:00" and booking["instrument"] == "FAC/BL1"
    assert sorted((s["account"], s["percent"]) for s in booking["splits"]) == [
        ("USTC-G1", "60.00"),
        ("ZJU-G1", "40.00"),
    ]
    assert data["qualifications"][0]["instrument"] == "FAC/BL1" and data["qualifications"][0]["granted_by"] == "mgr"
    assert any(n["kind"] == "approved" and n["status"] == "sent" for n in data["notifications"])
    [token] = data["api_tokens"]
    assert token["created"] and token["expires"] and token["revoked"] is None and token["name"]
    assert any(e["model"] == "facilities.apitoken" and e["actor"] == "res" for e in data["audit_entries"])
    assert all(e["actor"] == "res" for e in data["audit_entries"])
    text = json.dumps(data)
    user = User.objects.get(pk=w.researcher.pk)
    for secret in (w.token, user.password, user.calendar_token):
        assert secret not in text


def test_the_zip_holds_json_and_csv(life):
    w = life
    r = w.client(w.researcher).get("/api/v1/me/data/zip/", HTTP_ACCEPT="application/zip")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(archive.namelist())
    assert {"personal-data.json", "bookings.csv", "memberships.csv", "audit_entries.csv", "api_tokens.csv"} <= names
    assert json.loads(archive.read("personal-data.json"))["profile"]["username"] == "res"
    (row,) = list(csv.DictReader(io.StringIO(archive.read("bookings.csv").decode())))
    assert row["purpose"] == PURPOSE and row["splits"] in ("USTC-G1:60.00; ZJU-G1:40.00", "ZJU-G1:40.00; USTC-G1:60.00")
    assert w.token not in b"".join(archive.read(n) for n in names).decode()


def test_the_page_offers_both_downloads_to_anyone_signed_in(life):
    c = Client()
    assert c.get("/me/data/").status_code == 302
    assert c.get("/me/data/personal-data.json").status_code == 302
    c.force_login(life.outsider)
    page = c.get("/me/data/")
    assert page.status_code == 200
    assert (
        "/me/data/personal-data.json" in page.content.decode() and "/me/data/personal-data.zip" in page.content.decode()
    )
    mine = json.loads(c.get("/me/data/personal-data.json").content)
    assert mine["profile"]["username"] == "out" and mine["bookings"] == []  # only their own
    assert zipfile.ZipFile(io.BytesIO(c.get("/me/data/personal-data.zip").content)).testzip() is None
    assert APIClient().get("/api/v1/me/data/").status_code in (401, 403)


def _figures(w) -> dict:
    admin = w.client(w.admin)
    invoices = [
        (
            i.pk,
            i.number,
            i.status,
            i.total,
            sorted(InvoiceLine.objects.filter(invoice=i).values_list("booking_id", "amount")),
        )
        for i in Invoice.objects.order_by("pk")
    ]
    return {
        "report": admin.get("/api/v1/reports/sharing/", {"facility": "FAC", "period": "2026-Q3"}).json(),
        "sari": admin.get("/api/v1/reports/institutions/SARI/", {"period": "2026-09"}).json(),
        "invoices": invoices,
        "api_invoices": w.client(w.finance).get("/api/v1/invoices/?period=2026-09").json(),
    }


def test_anonymising_keeps_invoices_reports_and_the_trail_and_locks_the_person_out(life):
    w = life
    before = _figures(w)
    assert before["invoices"] and before["invoices"][0][1]  # issued, numbered
    assert before["report"]["totals"]["used_hours"] not in ("0", "0.00", 0)  # the booking is counted
    authored = set(LogEntry.objects.filter(actor=w.researcher).values_list("pk", flat=True))
    entries_before = LogEntry.objects.count()
    assert authored
    old_calendar = User.objects.get(pk=w.researcher.pk).calendar_token
    session = Client()
    session.force_login(w.researcher)
    assert session.get("/me/").status_code == 200

    r = w.client(w.admin).post(f"/api/v1/people/{w.researcher.pk}/anonymise/")
    assert r.status_code == 200, r.content
    pseudonym = f"former-user-{w.researcher.pk}"
    assert r.json()["username"] == pseudonym

    assert _figures(w) == before  # every invoice number, total, line and booking; every report figure
    person = User.objects.get(pk=w.researcher.pk)
    assert (person.username, person.first_name, person.last_name) == (pseudonym, pseudonym, "")
    assert person.email == f"{pseudonym}@anonymised.invalid" and not person.has_usable_password()
    assert not person.is_active and not person.is_staff and person.anonymised_at is not None
    assert person.calendar_token != old_calendar
    assert not ApiToken.objects.filter(user=person, revoked_at__isnull=True).exists()
    assert Booking.objects.get(pk=w.booking.pk).purpose == ""
    assert Membership.objects.filter(user=person).exists() and Qualification.objects.filter(user=person).exists()

    # The person cannot sign in any more, by any door.
    assert not Client().login(username="res", password="pw-123456")
    assert not Client().login(username=pseudonym, password="pw-123456")
    assert APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}).status_code == 400
    assert APIClient(HTTP_AUTHORIZATION=f"Token {w.token}").get("/api/v1/me/").status_code == 401
    assert session.get("/me/").status_code == 302
    assert Client().get(f"/calendar/{old_calendar}.ics").status_code == 404

    # The trail: every entry is still there (and more: the anonymisation itself), named by the pseudonym.
    assert set(LogEntry.objects.filter(actor=person).values_list("pk", flat=True)) == authored
    assert LogEntry.objects.count() > entries_before
    rows = w.client(w.admin).get("/api/v1/audit/", {"actor": pseudonym, "page_size": 500}).json()["results"]
    assert {row["id"] for row in rows} == authored
    assert not LogEntry.objects.filter(actor_email="res@example.org").exists()
    about = LogEntry.objects.filter(object_repr__contains="res ").exclude(object_repr__contains=pseudonym)
    assert not [e.object_repr for e in about if e.object_repr.startswith("res ")]
    token_ids = [str(pk) for pk in ApiToken.objects.filter(user=person).values_list("pk", flat=True)]
    revocations = LogEntry.objects.get_for_model(ApiToken).filter(
        object_pk__in=token_ids, action=LogEntry.Action.UPDATE
    )
    assert token_ids and all("revoked_at" in e.changes_dict for e in revocations) and revocations.exists()
    deactivated = LogEntry.objects.get_for_object(person).order_by("-pk").first()
    assert deactivated.actor == w.admin and deactivated.changes_dict["is_active"] == ["True", "False"]

    # Twice changes nothing.
    again = w.client(w.admin).post(f"/api/v1/people/{w.researcher.pk}/anonymise/")
    assert again.status_code == 200 and again.json()["anonymised_at"] == r.json()["anonymised_at"]


@pytest.mark.parametrize("persona", ["researcher", "manager", "finance", "outsider"])
def test_only_platform_admins_anonymise(world, persona):
    r = world.client(getattr(world, persona)).post(f"/api/v1/people/{world.outsider.pk}/anonymise/")
    assert r.status_code == 403 and "platform administrators" in r.json()["detail"]
    assert User.objects.get(pk=world.outsider.pk).username == "out"
    assert APIClient().post(f"/api/v1/people/{world.outsider.pk}/anonymise/").status_code in (401, 403)


def test_anonymise_refusals_say_why(world):
    c = world.client(world.admin)
    assert c.post(f"/api/v1/people/{world.admin.pk}/anonymise/").status_code == 400
    assert c.post("/api/v1/people/999999/anonymise/").status_code == 404
    assert c.get(f"/api/v1/people/{world.outsider.pk}/anonymise/").status_code == 405


def test_the_admin_action_and_the_service(world):
    c = Client()
    c.force_login(world.admin)
    r = c.post("/admin/facilities/user/", {"action": "anonymise", "_selected_action": [world.outsider.pk]})
    assert r.status_code == 302
    outsider = User.objects.get(pk=world.outsider.pk)
    assert outsider.username == f"former-user-{outsider.pk}" and not outsider.is_active
    entry = LogEntry.objects.get_for_object(outsider).order_by("-pk").first()
    assert entry.actor == world.admin and entry.additional_data["via"] == "admin"
    # The service, outside any request, records the administrator it was given.
    person_anonymise(actor=world.admin, user_id=world.finance.pk)
    entry = LogEntry.objects.get_for_object(world.finance).order_by("-pk").first()
    assert entry.actor == world.admin and entry.additional_data["via"] == "system"
    # A staff member who is not a platform administrator does not get the action.
    staff = UserFactory(username="staffer", is_staff=True)
    c.force_login(staff)
    assert c.post(
        "/admin/facilities/user/", {"action": "anonymise", "_selected_action": [world.manager.pk]}
    ).status_code in (
        302,
        403,
    )
    assert User.objects.get(pk=world.manager.pk).username == "mgr"


def test_an_author_in_the_trail_is_anonymised_not_deleted(world, tomorrow_9):
    from django.core.exceptions import PermissionDenied
    from django.db import transaction

    qualification_grant(actor=world.manager, user=world.researcher, instrument=world.instrument)
    with pytest.raises(PermissionDenied, match="anonymise"), transaction.atomic():
        User.objects.get(pk=world.manager.pk).delete()
    assert LogEntry.objects.filter(actor=world.manager).exists()
    nobody = UserFactory(username="never-acted")
    nobody.delete()  # someone who never changed anything may still be deleted
    assert not User.objects.filter(username="never-acted").exists()
