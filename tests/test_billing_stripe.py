"""Collecting through Stripe Invoices (offline, against a Stripe-compatible server on 127.0.0.1) and
the webhook: valid, forged, replayed and out-of-order events."""

import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
import stripe

from billing.models import BillingProfile, Invoice, StripeEvent
from billing.money import to_fen
from billing.services.invoicing import invoice_issue, run_period
from billing.tasks import send_invoice_to_stripe
from facilities.models import RateCard
from facilities.models.tenants import Role

from .billing_stripe_fake import FakeStripe
from .factories.billing import book, complete
from .factories.facilities import UserFactory, member

D = Decimal
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SECRET = "whsec_test_secret"


pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def fake_stripe(settings):
    with FakeStripe() as fake:
        settings.STRIPE_API_KEY = "sk_test_offline"
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_WEBHOOK_SECRET = SECRET
        previous = stripe.max_network_retries
        stripe.max_network_retries = 0
        yield fake
        stripe.max_network_retries = previous


@pytest.fixture
def draft(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=D("123.45"))
    for i in range(3):
        complete(book(requester=world.researcher, instrument=world.instrument, start=SEPT + dt.timedelta(days=i)))
    run_period(period="2026-09")
    BillingProfile.objects.create(institution=world.sari, collect_with_stripe=True)
    BillingProfile.objects.create(institution=world.ustc, billing_email="finance@ustc.example")
    sari_fin = UserFactory(username="sari-fin")
    member(sari_fin, world.sari, Role.FINANCE)
    world.sari_fin = sari_fin
    return Invoice.objects.get()


def issue(world, invoice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return world.client(world.sari_fin).post(f"/api/v1/invoices/{invoice.pk}/issue/")


def test_issuing_sends_a_finalized_stripe_invoice_with_one_item_per_line(
    world, draft, fake_stripe, django_capture_on_commit_callbacks
):
    assert issue(world, draft, django_capture_on_commit_callbacks).status_code == 200
    draft.refresh_from_db()
    assert draft.stripe_invoice_id and draft.stripe_status == "open"
    remote = fake_stripe.invoices[draft.stripe_invoice_id]
    assert remote["collection_method"] == "send_invoice" and remote["status"] == "open"
    assert remote["metadata"]["sanjiao_invoice_id"] == str(draft.pk)
    items = [i for i in fake_stripe.items.values() if i["invoice"] == remote["id"]]
    assert len(items) == 3 and sum(i["amount"] for i in items) == 74070  # 3 × 246.90 CNY in fen
    keys = [k for _, p, k in fake_stripe.requests if p == "/v1/invoiceitems"]
    assert sorted(keys) == sorted(f"sanjiao-{draft.number}-item-{line.pk}" for line in draft.lines.all())
    customer = fake_stripe.customers[remote["customer"]]
    assert customer["email"] == "finance@ustc.example"
    assert BillingProfile.objects.get(institution=world.ustc).stripe_customer_id == customer["id"]


def test_a_retried_task_never_bills_twice(world, draft, fake_stripe, django_capture_on_commit_callbacks):
    fake_stripe.fail_paths["/finalize"] = 1  # the worker "crashes" after the items were created
    issue(world, draft, django_capture_on_commit_callbacks)
    draft.refresh_from_db()
    assert draft.status == "issued" and draft.stripe_status == "failed"
    send_invoice_to_stripe.delay(draft.pk)  # the retry
    send_invoice_to_stripe.delay(draft.pk)  # and a duplicate delivery of the task
    draft.refresh_from_db()
    assert draft.stripe_status == "open"
    assert len(fake_stripe.invoices) == 1 and len(fake_stripe.items) == 3 and len(fake_stripe.customers) == 1
    assert sum(i["amount"] for i in fake_stripe.items.values()) == 74070


def test_a_retry_after_losing_the_local_record_replays_the_same_requests(world, draft, fake_stripe):
    draft = invoice_issue(actor=None, invoice_id=draft.pk)
    from billing.stripe_client import push_invoice

    first = push_invoice(Invoice.objects.get(pk=draft.pk))
    Invoice.objects.filter(pk=draft.pk).update(stripe_invoice_id="", stripe_status="")
    BillingProfile.objects.filter(institution=world.ustc).update(stripe_customer_id="")
    assert push_invoice(Invoice.objects.get(pk=draft.pk)) == first
    assert len(fake_stripe.invoices) == 1 and len(fake_stripe.items) == 3 and len(fake_stripe.customers) == 1


def test_voiding_an_issued_invoice_voids_it_in_stripe_once(
    world, draft, fake_stripe, django_capture_on_commit_callbacks
):
    issue(world, draft, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        r = world.client(world.sari_fin).post(
            f"/api/v1/invoices/{draft.pk}/void/", {"reason": "wrong payer"}, format="json"
        )
    assert r.status_code == 200 and r.json()["status"] == "void"
    draft.refresh_from_db()
    assert draft.stripe_status == "void" and fake_stripe.invoices[draft.stripe_invoice_id]["status"] == "void"
    from billing.tasks import void_invoice_in_stripe

    void_invoice_in_stripe.delay(draft.pk)
    assert [p for _, p, _ in fake_stripe.requests].count(f"/v1/invoices/{draft.stripe_invoice_id}/void") == 1


def test_without_stripe_configured_issuing_sends_nothing(world, draft, settings, django_capture_on_commit_callbacks):
    settings.STRIPE_API_KEY = ""
    assert issue(world, draft, django_capture_on_commit_callbacks).status_code == 200
    draft.refresh_from_db()
    assert draft.status == "issued" and draft.stripe_invoice_id == ""


# --- webhook -------------------------------------------------------------------------------------------


def signed(payload: dict, secret: str = SECRET, at: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    t = at or int(time.time())
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={t},v1={signature}"


def event(event_id: str, kind: str, invoice: Invoice, status: str, **changes) -> dict:
    """An event about `invoice` as Stripe sends it: its Stripe id, currency and total (in fen) as sent."""
    payload = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": invoice.stripe_invoice_id,
                "object": "invoice",
                "status": status,
                "currency": "cny",
                "total": to_fen(invoice.total),
                "amount_paid": to_fen(invoice.total) if status == "paid" else 0,
                "metadata": {"sanjiao_invoice_id": str(invoice.pk)},
            }
        },
    }
    payload["data"]["object"].update(changes)
    return payload


def post(client, payload, **kwargs):
    body, header = signed(payload, **kwargs)
    return client.post(
        "/api/v1/stripe/webhook/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


@pytest.fixture
def sent(world, draft, fake_stripe, django_capture_on_commit_callbacks):
    issue(world, draft, django_capture_on_commit_callbacks)
    draft.refresh_from_db()
    return draft


def test_paid_event_marks_the_invoice_paid(client, sent):
    r = post(client, event("evt_1", "invoice.paid", sent, "paid"))
    assert r.status_code == 200, r.content
    sent.refresh_from_db()
    assert sent.status == "paid" and sent.paid_at is not None and sent.stripe_status == "paid"


def test_forged_or_stale_signatures_are_refused(client, sent):
    assert post(client, event("evt_2", "invoice.paid", sent, "paid"), secret="whsec_wrong").status_code == 400
    assert post(client, event("evt_3", "invoice.paid", sent, "paid"), at=int(time.time()) - 3600).status_code == 400
    body, header = signed(event("evt_4", "invoice.paid", sent, "paid"))
    tampered = body.replace(b"invoice.paid", b"invoice.paid ")
    assert (
        client.post(
            "/api/v1/stripe/webhook/", data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        ).status_code
        == 400
    )
    assert client.post("/api/v1/stripe/webhook/", data=body, content_type="application/json").status_code == 400
    sent.refresh_from_db()
    assert sent.status == "issued" and not StripeEvent.objects.exists()


def test_a_replayed_event_changes_nothing(client, sent):
    paid = event("evt_5", "invoice.paid", sent, "paid")
    assert post(client, paid).status_code == 200
    Invoice.objects.filter(pk=sent.pk).update(status="issued")  # as if something else had moved it back
    r = post(client, paid)
    assert r.status_code == 200 and r.json()["outcome"] == "duplicate"
    sent.refresh_from_db()
    assert sent.status == "issued" and StripeEvent.objects.count() == 1


def test_paid_after_voided_does_not_resurrect_and_void_after_paid_does_not_unpay(client, sent, world):
    assert post(client, event("evt_6", "invoice.voided", sent, "void")).status_code == 200
    assert post(client, event("evt_7", "invoice.paid", sent, "paid")).status_code == 200
    sent.refresh_from_db()
    assert sent.status == "void"
    other = Invoice.objects.create(
        period="2026-09",
        issuer=world.sari,
        payer=world.zju,
        status="issued",
        number="SARI-2026-9999",
        stripe_invoice_id="in_other",
        total=D("10.00"),
    )
    post(client, event("evt_8", "invoice.paid", other, "paid"))
    post(client, event("evt_9", "invoice.voided", other, "void"))
    other.refresh_from_db()
    assert other.status == "paid"


def test_events_for_unknown_invoices_and_other_types_are_acknowledged(client, sent):
    payload = event("evt_10", "invoice.paid", sent, "paid")
    payload["data"]["object"] = {"id": "in_unknown", "object": "invoice", "metadata": {}}
    assert post(client, payload).json()["outcome"].startswith("ignored")
    assert (
        post(
            client, {"id": "evt_11", "object": "event", "type": "customer.created", "data": {"object": {}}}
        ).status_code
        == 200
    )
    sent.refresh_from_db()
    assert sent.status == "issued"


def test_webhook_without_a_secret_configured_says_so(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    r = client.post("/api/v1/stripe/webhook/", data=b"{}", content_type="application/json")
    assert r.status_code == 503 and "STRIPE_WEBHOOK_SECRET" in r.json()["detail"]


def test_the_event_as_stripe_reports_it_matches_what_was_sent(client, sent, fake_stripe):
    """The fake Stripe's own view of the invoice (what push_invoice sent) carries the id, currency and total."""
    reported = fake_stripe.invoices[sent.stripe_invoice_id]
    view = fake_stripe._invoice_view(reported)
    payload = event("evt_m0", "invoice.paid", sent, "paid")
    payload["data"]["object"] = {**view, "status": "paid"}
    assert post(client, payload).status_code == 200
    sent.refresh_from_db()
    assert sent.status == "paid"


@pytest.mark.parametrize(
    "changes,words",
    [
        ({"id": "in_someone_else"}, "no invoice was sent"),
        ({"id": None}, "no Stripe invoice id"),
        ({"currency": "usd"}, "currency 'usd' is not CNY"),
        ({"currency": None}, "currency"),
        ({"total": 1}, "fen is not the"),
        ({"total": "74070"}, "fen is not the"),
        ({"total": None}, "fen is not the"),
        ({"metadata": {"sanjiao_invoice_id": "999999"}}, "metadata names invoice"),
    ],
)
def test_an_invoice_event_that_does_not_match_what_was_sent_is_logged_and_ignored(client, sent, changes, words, caplog):
    """A correctly signed event still marks nothing paid unless it is about what was sent."""
    for kind in ("invoice.paid", "invoice.voided"):
        payload = event(f"evt_mismatch_{kind}_{sorted(changes)}", kind, sent, "paid")
        if changes.get("total") is None and "total" in changes:
            del payload["data"]["object"]["total"]
        payload["data"]["object"].update({k: v for k, v in changes.items() if v is not None or k != "total"})
        with caplog.at_level("INFO", logger="billing"):
            r = post(client, payload)
        assert r.status_code == 200 and r.json()["outcome"].startswith("ignored"), r.content
        assert words in r.json()["outcome"]
        assert any(words in rec.getMessage() for rec in caplog.records), [rec.getMessage() for rec in caplog.records]
        sent.refresh_from_db()
        assert sent.status == "issued" and sent.paid_at is None


ODD_EVENTS = [
    [],
    [{"id": "evt_a", "type": "invoice.paid"}],
    None,
    "invoice.paid",
    17,
    {"id": "evt_b", "type": "invoice.paid", "data": None},
    {"id": "evt_c", "type": "invoice.paid", "data": []},
    {"id": "evt_d", "type": "invoice.paid", "data": {"object": None}},
    {"id": "evt_e", "type": "invoice.paid", "data": {"object": ["in_1"]}},
    {"id": "evt_f", "type": "invoice.paid", "data": {"object": {"id": "in_1", "metadata": "x"}}},
    {"id": "evt_g", "type": "invoice.paid", "data": {"object": {"id": "in_1", "metadata": [1]}}},
    {"id": "evt_h", "type": 7, "data": {"object": {}}},
    {"id": 8, "type": "invoice.paid", "data": {"object": {}}},
    {"id": "", "type": "invoice.paid", "data": {"object": {}}},
    {"id": "e" * 300, "type": "invoice.paid", "data": {"object": {}}},
    {"id": "evt_i", "data": {"object": {}}},
]


@pytest.mark.parametrize("payload", ODD_EVENTS, ids=range(len(ODD_EVENTS)))
def test_a_signed_event_of_an_odd_shape_is_a_400_in_words(client, sent, payload):
    r = post(client, payload)
    assert r.status_code == 400 and r.json()["detail"], r.content
    sent.refresh_from_db()
    assert sent.status == "issued" and not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "raw", [b"[" * 5000 + b"]" * 5000, b'{"id": "evt_n", "data": ' * 1500, b"\xff\xfe{}", b"1" * 6000]
)
def test_signed_bodies_nested_deeply_or_not_json_are_400(client, sent, raw):
    t = int(time.time())
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    signature = hmac.new(SECRET.encode(), f"{t}.{text}".encode(), hashlib.sha256).hexdigest()
    r = client.post(
        "/api/v1/stripe/webhook/",
        data=raw,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={t},v1={signature}",
    )
    assert r.status_code == 400 and r.json()["detail"], r.content


def test_the_webhook_is_in_the_openapi_schema(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/stripe/webhook/"]["post"]
    assert {p["name"] for p in operation["parameters"]} == {"Stripe-Signature"}
    assert {"200", "400", "503"} <= set(operation["responses"])
