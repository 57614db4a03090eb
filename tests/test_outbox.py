"""In the embedded default, mail goes to an outbox a person reads in the browser (admin → Outbox), with
the calendar invitations it carries, instead of into the server's console."""

import datetime as dt
import os

import pytest
from django.test import Client

from booking.services import booking_request
from outbox.backends import OutboxBackend
from outbox.models import OutboxMessage

H = dt.timedelta(hours=1)
pytestmark = pytest.mark.usefixtures("tasks_in_process")


def test_the_embedded_default_keeps_mail_in_the_outbox():
    import config.settings as configured

    if "EMAIL_BACKEND" in os.environ:
        pytest.skip("EMAIL_BACKEND is set in this environment")
    assert configured.EMAIL_BACKEND == "outbox.backends.OutboxBackend"


def test_a_booking_mail_and_its_invitation_land_in_the_outbox_and_show_in_the_admin(
    world, tomorrow_9, committed, mailoutbox
):
    committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    [approved] = mailoutbox
    assert OutboxBackend().send_messages([approved]) == 1

    [kept] = OutboxMessage.objects.all()
    assert kept.to.splitlines() == [world.researcher.email]
    assert kept.subject == approved.subject and kept.body == approved.body
    assert "<" in kept.html
    [invite] = kept.invitations
    assert invite["filename"] == "invite.ics" and "BEGIN:VEVENT" in invite["content"]

    admin = Client()
    admin.force_login(world.admin)
    listing = admin.get("/admin/outbox/outboxmessage/")
    assert listing.status_code == 200 and kept.subject in listing.content.decode()
    detail = admin.get(f"/admin/outbox/outboxmessage/{kept.pk}/change/")
    assert detail.status_code == 200
    assert "BEGIN:VCALENDAR" in detail.content.decode() and "invite.ics" in detail.content.decode()


def test_nobody_but_staff_reads_the_outbox(world):
    OutboxMessage.objects.create(from_email="a@x", to="b@x", subject="secret", body="b")
    for persona in (world.researcher, world.manager, world.finance, world.outsider):
        c = Client()
        c.force_login(persona)
        r = c.get("/admin/outbox/outboxmessage/")
        assert r.status_code == 302 and "/admin/login/" in r["Location"]
    r = Client().get("/admin/outbox/outboxmessage/")
    assert r.status_code == 302


def test_a_message_without_recipients_is_not_kept(db):
    from django.core.mail import EmailMessage

    assert OutboxBackend().send_messages([EmailMessage("s", "b", "a@x", [])]) == 0
    assert not OutboxMessage.objects.exists()
