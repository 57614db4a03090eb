"""The audit trail: every change to who may do what, or what it costs, leaves an entry — who, when,
through what, before → after — whether it came through the admin, the API, a page or a service; entries
are filed under institutions; the trail is append-only."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from billing.models import BillingProfile, ChargePolicy, HostSubsidy, InnovationVoucher, Invoice
from billing.services.invoicing import invoice_mark_paid, run_period
from facilities.credentials import create_token
from facilities.models import (
    ApiToken,
    Closure,
    FundingAccount,
    Instrument,
    Membership,
    OperatingHours,
    Qualification,
    RateCard,
    TimeShare,
    User,
)
from facilities.models.tenants import Role
from facilities.services import closure_add, closure_remove, qualification_grant, qualification_revoke

from .factories.billing import AgencyFactory, HostSubsidyFactory, InnovationVoucherFactory, book, complete
from .factories.facilities import InstitutionFactory, UserFactory, member

H = dt.timedelta(hours=1)
TZ = dt.timezone(dt.timedelta(hours=8))
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=TZ)


def entries_for(obj, action=None):
    qs = LogEntry.objects.get_for_object(obj).order_by("pk")
    return list(qs.filter(action=action) if action is not None else qs)


def last_entry(model) -> LogEntry:
    return LogEntry.objects.get_for_model(model).order_by("-pk").first()


def institutions_of(entry: LogEntry) -> set[str]:
    return {link.institution.code for link in entry.audit_institutions.select_related("institution")}


def admin_change(client: Client, obj, **changes):
    """POST the admin's change form of `obj` as it stands, with `changes`, as a person would."""
    model_admin = admin.site.get_model_admin(type(obj))
    request = RequestFactory().get("/")
    request.user = User.objects.get(username="root")
    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or name in ("password",):
            continue
        if isinstance(field.widget, forms.MultiWidget):
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{i}"] = str(part)
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = field.prepare_value(value) if hasattr(field, "prepare_value") else value
    for inline in model_admin.get_inline_instances(request, obj):
        prefix = inline.get_formset(request, obj).get_default_prefix()
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    for name, value in changes.items():
        if isinstance(value, bool):
            data.pop(name, None)
            if value:
                data[name] = "on"
        else:
            data[name] = value
    data = {k: v for k, v in data.items() if not isinstance(v, dict)}
    meta = type(obj)._meta
    response = client.post(f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    return response


@pytest.fixture
def admin_client_(world) -> Client:
    c = Client()
    c.force_login(world.admin)
    return c


# --- the service path: the actor the service was given, even outside a request ---------------------------


def test_closure_added_and_removed_through_the_service(world, tomorrow_9):
    closure = closure_add(
        actor=world.manager, facility=world.facility, start=tomorrow_9, end=tomorrow_9 + 2 * H, reason="refill"
    )
    created = entries_for(closure)[0]
    assert created.action == LogEntry.Action.CREATE and created.actor == world.manager
    assert created.changes_dict["reason"] == ["None", "refill"] and created.changes_dict["start"][0] == "None"
    assert timezone.now() - created.timestamp < dt.timedelta(minutes=1)
    assert created.additional_data["via"] == "system" and institutions_of(created) == {"SARI"}
    pk = closure.pk
    closure_remove(actor=world.manager, closure=closure)
    deleted = LogEntry.objects.filter(object_pk=str(pk), action=LogEntry.Action.DELETE).get()
    assert deleted.actor == world.manager and institutions_of(deleted) == {"SARI"}


def test_qualification_grant_and_revoke_through_the_service(world):
    q = qualification_grant(actor=world.manager, user=world.researcher, instrument=world.instrument)
    assert entries_for(q)[0].actor == world.manager
    assert qualification_revoke(actor=world.manager, user=world.researcher, instrument=world.instrument) == 1
    revoked = entries_for(q, LogEntry.Action.UPDATE)[0]
    before, after = revoked.changes_dict["revoked_at"]
    assert before == "None" and after.startswith(str(timezone.now().year))
    assert revoked.actor == world.manager and institutions_of(revoked) == {"SARI", "USTC"}


# --- the API path: DRF authenticates inside the view, after the middleware -------------------------------


def token_client(user: User) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user=user, name='tests')[1]}")
    return c


def test_api_changes_with_a_token_name_the_token_holder(world, tomorrow_9):
    c = token_client(world.manager)
    r = c.post(
        "/api/v1/facilities/FAC/closures/",
        {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 4 * H).isoformat(), "reason": "cryo refill"},
        format="json",
    )
    assert r.status_code == 201
    entry = entries_for(Closure.objects.get())[0]
    assert entry.actor == world.manager and entry.additional_data["via"] == "api"
    assert entry.changes_dict["reason"] == ["None", "cryo refill"]
    funding = entries_for(world.researcher_account)[0]  # no noise from other models' relations to it
    assert {"code", "institution", "valid_until"} <= set(funding.changes_dict)
    assert set(funding.changes_dict) <= {f.name for f in FundingAccount._meta.local_fields} - {"id"}
    url = f"/api/v1/instruments/{world.instrument.pk}/qualifications/"
    assert c.post(url, {"username": "res"}, format="json").status_code == 201
    assert c.delete(f"{url}?username=res").status_code == 204
    q = Qualification.objects.get()
    assert [e.actor for e in entries_for(q)] == [world.manager, world.manager]
    assert all(e.additional_data["via"] == "api" for e in entries_for(q))


def test_token_creation_and_revocation_never_record_the_key(world, admin_client_):
    r = APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, format="json")
    assert r.status_code == 200
    key = r.json()["token"]
    token = ApiToken.objects.get(user=world.researcher)
    created = last_entry(ApiToken)
    assert created.action == LogEntry.Action.CREATE and created.actor == world.researcher
    assert created.object_pk == str(token.pk)
    assert institutions_of(created) == {"USTC"}
    # Revoked through the admin: the platform administrator is the author.
    r = admin_client_.post(
        "/admin/facilities/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert r.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    revoked = last_entry(ApiToken)
    assert revoked.action == LogEntry.Action.UPDATE and revoked.object_pk == str(token.pk)
    assert revoked.actor == world.admin and revoked.additional_data["via"] == "admin"
    assert "revoked_at" in revoked.changes_dict
    for entry in LogEntry.objects.get_for_model(ApiToken):
        text = f"{entry.object_pk} {entry.object_repr} {entry.changes} {entry.serialized_data}"
        assert key not in text and token.digest not in text


def test_invoice_actions_name_finance_and_the_system(world, tasks_in_process, django_capture_on_commit_callbacks):
    from facilities.models import RateCard as Rate

    Rate.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100"))
    complete(book(requester=world.researcher, instrument=world.instrument, start=SEPT))
    with django_capture_on_commit_callbacks(execute=True):
        run_period(period="2026-09")
    invoice = Invoice.objects.get()
    drafted = entries_for(invoice)[0]
    assert drafted.action == LogEntry.Action.CREATE and drafted.actor is None
    assert drafted.additional_data["via"] in ("system", "task")
    assert institutions_of(drafted) == {"SARI", "USTC"}
    sari_fin = UserFactory(username="sari-fin")
    member(sari_fin, world.sari, Role.FINANCE)
    c = token_client(sari_fin)
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post(f"/api/v1/invoices/{invoice.pk}/issue/").status_code == 200
    issued = entries_for(invoice, LogEntry.Action.UPDATE)[-1]
    assert issued.actor == sari_fin and issued.changes_dict["status"] == ["draft", "issued"]
    assert issued.changes_dict["number"][0] == "None" and issued.additional_data["via"] == "api"
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(f"/api/v1/invoices/{invoice.pk}/credit-note/", {"reason": "wrong rate"}, format="json")
    assert r.status_code in (200, 201)
    note = Invoice.objects.get(kind="credit_note")
    assert entries_for(note)[0].actor == sari_fin
    unpaid = Invoice.objects.create(
        issuer=world.sari, payer=world.ustc, period="2026-07", status="issued", number="X-0", total=Decimal("7")
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post(f"/api/v1/invoices/{unpaid.pk}/void/", {"reason": "sent twice"}, format="json").status_code == 200
    voided = entries_for(unpaid, LogEntry.Action.UPDATE)[-1]
    assert voided.actor == sari_fin and voided.changes_dict["status"] == ["issued", "void"]
    assert voided.changes_dict["reason"] == ["", "sent twice"]
    other = Invoice.objects.create(
        issuer=world.sari, payer=world.ustc, period="2026-08", status="issued", number="X-1", total=Decimal("5")
    )
    invoice_mark_paid(invoice_id=other.pk)  # e.g. from a Stripe event: no person
    paid = entries_for(other, LogEntry.Action.UPDATE)[-1]
    assert paid.actor is None and paid.changes_dict["status"] == ["issued", "paid"]
    assert (
        world.client(world.admin)
        .get("/api/v1/audit/", {"object": str(other.pk), "model": "billing.invoice"})
        .json()["results"][0]["actor"]
        == "system"
    )


def test_a_celery_task_is_the_system(world, tasks_in_process):
    from billing.services.invoicing import invoice_run_start
    from billing.tasks import execute_invoice_run

    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100"))
    complete(book(requester=world.researcher, instrument=world.instrument, start=SEPT))
    run = invoice_run_start(period="2026-09", actor=None)
    execute_invoice_run.apply(args=[run.pk])
    drafted = entries_for(Invoice.objects.get())[0]
    assert drafted.actor is None and drafted.additional_data["via"] == "task"
    assert "invoice" in drafted.additional_data["task"]


def test_a_management_command_is_the_system(world, tasks_in_process):
    from django.core.management import call_command

    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100"))
    complete(book(requester=world.researcher, instrument=world.instrument, start=SEPT))
    call_command("run_invoices", "2026-09", stdout=io.StringIO())
    drafted = entries_for(Invoice.objects.get())[0]
    assert drafted.actor is None and drafted.additional_data["via"] in ("system", "task")
    row = world.client(world.admin).get("/api/v1/audit/", {"model": "billing.invoice"}).json()["results"][-1]
    assert row["actor"] == "system" and row["institutions"] == ["SARI", "USTC"]


# --- the pages: the signed-in person of the session --------------------------------------------------------


def test_page_changes_name_the_signed_in_person(world):
    c = Client()
    c.force_login(world.manager)
    body = {"qual-username": "res", "qual-instrument": str(world.instrument.pk)}
    assert c.post("/console/facilities/FAC/qualifications/grant/", body).status_code in (200, 302)
    assert c.post("/console/facilities/FAC/qualifications/revoke/", body).status_code in (200, 302)
    q = Qualification.objects.get()
    granted, revoked = entries_for(q)
    assert granted.action == LogEntry.Action.CREATE and revoked.changes_dict["revoked_at"][0] == "None"
    assert {e.actor for e in (granted, revoked)} == {world.manager}
    assert {e.additional_data["via"] for e in (granted, revoked)} == {"web"}


@pytest.mark.parametrize(
    "forwarded,recorded",
    [
        ("not-an-address", None),  # PostgreSQL's inet would refuse it: never a 500
        ("203.0.113.9, 198.51.100.7", "198.51.100.7"),  # the hop the proxy appended, not the client's claim
        ("203.0.113.9, [::1]:80", None),
        ("", "127.0.0.1"),
    ],
)
def test_the_recorded_address_cannot_be_forged_or_break_a_change(world, tomorrow_9, forwarded, recorded):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    r = world.client(world.manager).post(
        "/api/v1/facilities/FAC/closures/",
        {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()},
        format="json",
        **headers,
    )
    assert r.status_code == 201, r.content
    assert entries_for(Closure.objects.get())[0].remote_addr == recorded


# --- the admin path -------------------------------------------------------------------------------------


def test_admin_changes_to_instrument_rules_rates_policies_and_people(world, admin_client_):
    admin_change(admin_client_, world.instrument, requires_approval=True, max_minutes="600")
    entry = entries_for(world.instrument, LogEntry.Action.UPDATE)[-1]
    assert entry.actor == world.admin and entry.additional_data["via"] == "admin"
    assert entry.changes_dict["requires_approval"] == ["False", "True"]
    assert entry.changes_dict["max_minutes"] == ["1440", "600"]
    assert institutions_of(entry) == {"SARI"}

    policy = ChargePolicy.objects.create(instrument=world.instrument)
    admin_change(admin_client_, policy, no_show_percent="80")
    entry = entries_for(policy, LogEntry.Action.UPDATE)[-1]
    assert entry.actor == world.admin and entry.changes_dict["no_show_percent"][1] == "80"

    subsidy = HostSubsidyFactory(facility=world.facility, partner=world.ustc)
    admin_change(admin_client_, subsidy, percent="35")
    entry = entries_for(subsidy, LogEntry.Action.UPDATE)[-1]
    assert entry.actor == world.admin and institutions_of(entry) == {"SARI", "USTC"}

    voucher = InnovationVoucherFactory(agency=AgencyFactory(code="HFSTB"), holder=world.ustc)
    admin_change(admin_client_, voucher, active=False)
    entry = entries_for(voucher, LogEntry.Action.UPDATE)[-1]
    assert entry.changes_dict["active"] == ["True", "False"] and institutions_of(entry) == {"HFSTB", "USTC"}

    profile = BillingProfile.objects.create(institution=world.ustc, tax_id="91340100")
    admin_change(admin_client_, profile, tax_id="91340199")
    entry = entries_for(profile, LogEntry.Action.UPDATE)[-1]
    assert entry.changes_dict["tax_id"] == ["91340100", "91340199"] and institutions_of(entry) == {"USTC"}

    admin_change(admin_client_, world.outsider, is_active=False, is_staff=True, is_superuser=True)
    entry = entries_for(world.outsider, LogEntry.Action.UPDATE)[-1]
    assert entry.actor == world.admin and institutions_of(entry) == {"ZJU"}
    assert entry.changes_dict == {
        "is_active": ["True", "False"],
        "is_staff": ["False", "True"],
        "is_superuser": ["False", "True"],
    }  # and nothing about names, e-mail or password

    membership = Membership.objects.get(user=world.manager)
    admin_change(admin_client_, membership, role=Role.INSTITUTION_ADMIN)
    entry = entries_for(membership, LogEntry.Action.UPDATE)[-1]
    assert entry.changes_dict["role"] == ["facility_manager", "institution_admin"] and entry.actor == world.admin


def test_admin_hours_closures_rates_time_shares_and_memberships_are_recorded(world, admin_client_):
    c = admin_client_
    r = c.post(
        "/admin/facilities/operatinghours/add/",
        {"facility": world.facility.pk, "weekday": 0, "opens": "08:00", "closes": "20:00"},
    )
    assert r.status_code == 302
    hours = OperatingHours.objects.get()
    entry = entries_for(hours)[0]
    assert entry.actor == world.admin and entry.changes_dict["closes"] == ["None", "20:00:00"]
    admin_change(c, hours, closes="18:00")
    assert entries_for(hours, LogEntry.Action.UPDATE)[-1].changes_dict["closes"] == ["20:00:00", "18:00:00"]
    # Models without a page of their own in the admin: the ORM under a signed-in request is the same path.
    rate = RateCard.objects.create(instrument=world.instrument, user_class="industry", hourly_rate=Decimal("900"))
    rate.hourly_rate = Decimal("950.00")
    rate.save()
    change = entries_for(rate, LogEntry.Action.UPDATE)[-1]
    assert change.changes_dict["hourly_rate"] == ["900.00", "950.00"] and institutions_of(change) == {"SARI"}
    share = TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent=Decimal("20"))
    assert institutions_of(entries_for(share)[0]) == {"SARI", "ZJU"}
    membership = Membership.objects.get(user=world.manager)
    other = InstitutionFactory(code="OTHER")
    facility = world.facility.__class__.objects.create(
        code="FAC2", name="Two", province="shanghai", city="Shanghai", host=other, category="laser"
    )
    membership.facilities.add(facility)
    m2m = entries_for(membership)[-1]
    assert m2m.changes_dict["facilities"]["operation"] == "add" and institutions_of(m2m) == {"SARI"}


# --- reading the trail ----------------------------------------------------------------------------------


@pytest.fixture
def trail(world, tomorrow_9):
    """Entries of SARI (a closure) and of ZJU (a person deactivated); institution admins of SARI and ZJU."""
    closure_add(actor=world.manager, facility=world.facility, start=tomorrow_9, end=tomorrow_9 + H, reason="=1+1")
    leaver = UserFactory(username="leaver")
    member(leaver, world.zju, Role.RESEARCHER)
    leaver.is_active = False
    leaver.save()
    sari_admin = UserFactory(username="sari-admin")
    zju_admin = UserFactory(username="zju-admin")
    member(sari_admin, world.sari, Role.INSTITUTION_ADMIN)
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    world.sari_admin, world.zju_admin = sari_admin, zju_admin
    return world


def test_institution_admins_read_their_institution_and_platform_admins_all(trail, tomorrow_9):
    w = trail
    sari = w.client(w.sari_admin).get("/api/v1/audit/").json()
    models = {row["model"] for row in sari["results"]}
    assert "facilities.closure" in models and "facilities.user" not in models
    assert all("SARI" in row["institutions"] for row in sari["results"])
    closure_row = next(row for row in sari["results"] if row["model"] == "facilities.closure")
    assert closure_row["actor"] == "mgr" and closure_row["action"] == "create"
    assert closure_row["changes"]["reason"] == {"before": None, "after": "=1+1"}
    assert set(closure_row["changes"]) == {"facility", "instrument", "start", "end", "kind", "reason"}
    assert closure_row["changes"]["start"] == {"before": None, "after": tomorrow_9.isoformat()}  # +08:00
    zju = w.client(w.zju_admin).get("/api/v1/audit/").json()
    assert {row["model"] for row in zju["results"]} >= {"facilities.user"}
    assert all("ZJU" in row["institutions"] for row in zju["results"])
    assert not any(row["model"] == "facilities.closure" for row in zju["results"])
    everything = w.client(w.admin).get("/api/v1/audit/?page_size=500").json()
    assert everything["count"] == LogEntry.objects.count() > sari["count"] + zju["count"] - 1
    assert set(everything) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize("persona", ["researcher", "manager", "finance", "outsider"])
def test_nobody_else_reads_the_trail(trail, persona):
    user = getattr(trail, persona)
    c = trail.client(user)
    for url in ("/api/v1/audit/", "/api/v1/audit/export/"):
        r = c.get(url)
        assert r.status_code == 403 and "institution administrators" in r.json()["detail"]
    page = Client()
    page.force_login(user)
    assert page.get("/audit/").status_code == 403
    assert page.get("/audit/export.csv").status_code == 403


def test_anonymous_people_read_nothing(trail):
    assert APIClient().get("/api/v1/audit/").status_code in (401, 403)
    assert APIClient().get("/api/v1/audit/export/").status_code in (401, 403)
    assert Client().get("/audit/").status_code == 302
    assert Client().get("/audit/export.csv").status_code == 302


def test_filters(trail, tomorrow_9):
    w = trail
    c = w.client(w.admin)
    closure = Closure.objects.get()

    def ids(**params):
        return {row["id"] for row in c.get("/api/v1/audit/", {"page_size": 500, **params}).json()["results"]}

    by_model = ids(model="facilities.closure")
    assert by_model == {e.pk for e in entries_for(closure)}
    assert ids(model="facilities.closure", object=str(closure.pk)) == by_model
    assert ids(model="facilities.closure", object="999999") == set()
    assert ids(actor="mgr") == {e.pk for e in LogEntry.objects.filter(actor=w.manager)}
    assert ids(actor="system") == {e.pk for e in LogEntry.objects.filter(actor__isnull=True)}
    today = timezone.localdate().isoformat()
    assert ids(since=today, until=today) == ids()
    assert ids(until="2000-01-01") == set()
    for bad in (
        {"since": "yesterday"},
        {"until": "2026-13-01"},
        {"model": "closure"},
        {"since": today, "until": "2000-01-01"},
        {"actor": "a\x00b"},
        {"object": "1\x00"},
    ):
        r = c.get("/api/v1/audit/", bad)
        assert r.status_code == 400, bad
    assert c.get("/api/v1/audit/", {"object": "x" * 151}).status_code == 400


def test_csv_export(trail):
    w = trail
    r = w.client(w.sari_admin).get("/api/v1/audit/export/?model=facilities.closure", HTTP_ACCEPT="text/csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert list(rows[0]) == [
        "id", "timestamp", "action", "model", "object", "object_repr", "actor", "via", "institutions",
        "field", "before", "after",
    ]  # fmt: skip
    fields = {row["field"]: row for row in rows}
    assert {"start", "end", "reason", "facility"} <= set(fields)
    reason = fields["reason"]
    assert reason["actor"] == "mgr" and reason["action"] == "create" and reason["institutions"] == "SARI"
    assert reason["before"] == "" and reason["after"] == "'=1+1"  # never a formula in a spreadsheet
    assert reason["model"] == "facilities.closure" and reason["timestamp"].endswith("+08:00")
    zju = list(
        csv.DictReader(
            io.StringIO(b"".join(w.client(w.zju_admin).get("/api/v1/audit/export/").streaming_content).decode())
        )
    )
    assert zju and all(row["model"] != "facilities.closure" for row in zju)


def test_the_page_lists_filters_and_exports(trail):
    c = Client()
    c.force_login(trail.sari_admin)
    page = c.get("/audit/?model=facilities.closure")
    assert page.status_code == 200
    html = page.content.decode()
    assert "facilities.closure" in html and "mgr" in html and "=1+1" in html
    assert "/audit/export.csv?model=facilities.closure" in html
    export = c.get("/audit/export.csv?model=facilities.closure")
    assert export.status_code == 200 and b"reason" in b"".join(export.streaming_content)
    assert c.get("/audit/?since=nonsense").status_code == 400


def test_query_count_does_not_grow_with_the_entries(trail, django_assert_max_num_queries):
    w = trail
    api = w.client(w.sari_admin)
    page = Client()
    page.force_login(w.sari_admin)

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as on_api:
            assert api.get("/api/v1/audit/?page_size=100").status_code == 200
        with CaptureQueriesContext(connection) as on_page:
            assert page.get("/audit/").status_code == 200
        return len(on_api), len(on_page)

    few = counts()
    for n in range(30):
        Closure.objects.create(facility=w.facility, start=timezone.now(), end=timezone.now() + H, reason=str(n))
    assert counts() == few
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/audit/?page_size=100").json()["results"]) >= 30
    with django_assert_max_num_queries(10):
        assert page.get("/audit/").status_code == 200


# --- append-only ----------------------------------------------------------------------------------------


def test_entries_cannot_be_changed_or_deleted(trail, admin_client_):
    entry = LogEntry.objects.first()
    assert admin_client_.get(f"/admin/auditlog/logentry/{entry.pk}/change/").status_code in (200, 403)
    assert admin_client_.post(f"/admin/auditlog/logentry/{entry.pk}/change/", {"object_repr": "x"}).status_code == 403
    assert admin_client_.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client_.post(
        "/admin/auditlog/logentry/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    ).status_code in (200, 302)
    c = trail.client(trail.admin)
    assert c.delete("/api/v1/audit/").status_code == 405
    assert c.post("/api/v1/audit/", {}, format="json").status_code == 405
    with pytest.raises(PermissionDenied), transaction.atomic():
        entry.delete()
    entry.object_repr = "rewritten"
    with pytest.raises(PermissionDenied), transaction.atomic():
        entry.save()
    with pytest.raises(PermissionDenied), transaction.atomic():
        LogEntry.objects.all().delete()
    assert LogEntry.objects.filter(pk=entry.pk).exclude(object_repr="rewritten").exists()


def test_instrument_model_admin_is_registered_for_the_helper():
    assert admin.site.is_registered(Instrument) and admin.site.is_registered(InnovationVoucher)
    assert admin.site.is_registered(HostSubsidy)


# --- the date range, over any moment: local days, both ends included -------------------------------------

START = dt.datetime(2026, 1, 1, tzinfo=TZ)


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=10 * 24 * 3600 - 1), min_size=1, max_size=6),
    first=st.integers(min_value=0, max_value=9),
    span=st.integers(min_value=0, max_value=9),
)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_since_and_until_are_local_days_both_included(world, offsets, first, span):
    from django.contrib.contenttypes.models import ContentType

    from audit.selectors import TrailFilter, entries_visible_to

    with transaction.atomic():
        sid = transaction.savepoint()
        ct = ContentType.objects.get_for_model(Closure)
        made = {}
        for n, offset in enumerate(offsets):
            moment = START + dt.timedelta(seconds=offset)
            entry = LogEntry.objects.create(
                content_type=ct, object_pk=str(n), object_repr="c", action=LogEntry.Action.CREATE, timestamp=moment
            )
            made[entry.pk] = moment.astimezone(TZ).date()
        since = START.date() + dt.timedelta(days=first)
        until = since + dt.timedelta(days=span)
        got = set(entries_visible_to(world.admin, TrailFilter(since=since, until=until)).values_list("pk", flat=True))
        assert got & set(made) == {pk for pk, day in made.items() if since <= day <= until}
        transaction.savepoint_rollback(sid)
