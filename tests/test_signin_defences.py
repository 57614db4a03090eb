"""Sign-in defences: failures per account and per address lock all three password entrances (the sign-in
page, the admin's, the API's token endpoint) with 429, even for the right password, until the cool-off
passes (backing off) or a platform administrator unlocks; the client address comes from the trusted
header only; password reset by mail in the person's language; strong passwords."""

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.forms import SetPasswordForm
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client

from facilities.signin import lock_for, unlock_sign_in

PASSWORD = "pw-123456"  # the factories' password
ADDRESS = "203.0.113.7"
LIMIT = 5


def sign_in(entrance: str, username: str, password: str, address: str = ADDRESS, **extra):
    client = Client(REMOTE_ADDR=address, **extra)
    if entrance == "page":
        return client.post("/login/", {"username": username, "password": password})
    if entrance == "admin":
        return client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, content_type="application/json"
    )


def signed_in(entrance: str, response) -> bool:
    if entrance == "api":
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302


def refused_before_limit(entrance: str, response) -> bool:
    return response.status_code == (400 if entrance == "api" else 200)


def age_failures(minutes: int) -> None:
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            attempt_time=attempt.attempt_time - dt.timedelta(minutes=minutes)
        )


@pytest.mark.parametrize("entrance", ["page", "admin", "api"])
def test_wrong_passwords_lock_the_account_even_for_the_right_password_until_an_admin_unlocks(world, entrance):
    user = world.admin  # the admin's sign-in page takes staff only
    for _ in range(LIMIT - 1):
        assert refused_before_limit(entrance, sign_in(entrance, user.username, "wrong-password"))
    locked = sign_in(entrance, user.username, "wrong-password")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 14 * 60
    right = sign_in(entrance, user.username, PASSWORD)
    assert right.status_code == 429
    # Per account: another address is refused too.
    assert sign_in(entrance, user.username, PASSWORD, address="198.51.100.9").status_code == 429
    if entrance == "api":
        assert "locked" in right.json()["detail"]
    else:
        assert "locked" in right.content.decode()

    with pytest.raises(PermissionDenied):
        unlock_sign_in(by=world.researcher, username=user.username)
    assert sign_in(entrance, user.username, PASSWORD).status_code == 429

    unlock_sign_in(by=world.admin, username=user.username, ip_address=ADDRESS)
    assert signed_in(entrance, sign_in(entrance, user.username, PASSWORD))


@pytest.mark.parametrize("entrance", ["page", "api"])
def test_one_address_trying_many_accounts_is_locked_but_other_addresses_are_not(world, entrance):
    names = ["res", "mgr", "fin", "out", "nobody-at-all"]
    for name in names:
        sign_in(entrance, name, "wrong-password")
    assert sign_in(entrance, "root", PASSWORD).status_code == 429
    assert signed_in(entrance, sign_in(entrance, "root", PASSWORD, address="198.51.100.9"))


def test_the_lock_ends_after_the_cool_off_and_backs_off_with_more_failures(world):
    for _ in range(LIMIT):
        sign_in("api", "res", "wrong-password")
    age_failures(14)
    assert sign_in("api", "res", PASSWORD).status_code == 429  # the attempt counts and starts it again
    age_failures(16)
    assert signed_in("api", sign_in("api", "res", PASSWORD))

    # Twice the limit locks for twice as long.
    for _ in range(2 * LIMIT):
        sign_in("api", "out", "wrong-password", address="192.0.2.44")
    age_failures(20)
    assert sign_in("api", "out", PASSWORD, address="192.0.2.44").status_code == 429
    age_failures(31)
    assert signed_in("api", sign_in("api", "out", PASSWORD, address="192.0.2.44"))


def test_the_lock_doubles_with_each_limit_of_failures_up_to_the_cap():
    assert lock_for(LIMIT - 1) == dt.timedelta(0)
    assert lock_for(LIMIT) == dt.timedelta(minutes=15)
    assert lock_for(2 * LIMIT) == dt.timedelta(minutes=30)
    assert lock_for(4 * LIMIT) == dt.timedelta(minutes=120)
    assert lock_for(1000 * LIMIT) == dt.timedelta(hours=24)


def test_a_successful_sign_in_forgives_only_ones_own_failures_from_that_address(world):
    for _ in range(LIMIT - 1):
        sign_in("api", "res", "wrong-password")
    assert signed_in("api", sign_in("api", "res", PASSWORD))
    for _ in range(LIMIT - 1):
        assert sign_in("api", "res", "wrong-password").status_code == 400
    assert signed_in("api", sign_in("api", "res", PASSWORD))


def test_a_platform_admin_unlocks_in_the_admin(world):
    for _ in range(LIMIT):
        sign_in("page", "res", "wrong-password")
    assert sign_in("page", "res", PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(world.admin)
    r = admin.post(
        "/admin/facilities/user/", {"action": "unlock_sign_in", "_selected_action": [world.researcher.pk]}, follow=True
    )
    assert r.status_code == 200
    assert not AccessAttempt.objects.filter(username="res").exists()
    assert signed_in("page", sign_in("page", "res", PASSWORD))


def test_an_address_lock_is_lifted_by_deleting_its_records_in_the_admin(world):
    for name in ["a", "b", "c", "d", "e"]:
        sign_in("page", name, "wrong-password")
    assert sign_in("page", "res", PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(world.admin)
    ids = list(AccessAttempt.objects.filter(ip_address=ADDRESS).values_list("pk", flat=True))
    admin.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert signed_in("page", sign_in("page", "res", PASSWORD))


def test_the_lockout_page_speaks_chinese(world):
    for _ in range(LIMIT):
        r = sign_in("page", "res", "wrong-password", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 429
    assert "登录失败次数过多" in r.content.decode()
    api = sign_in("api", "res", PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert api.status_code == 429 and "登录失败次数过多" in api.json()["detail"]


def test_the_client_address_comes_only_from_the_configured_header(world, settings):
    # Without a configured header, a forwarded address a client sends is ignored: it cannot dodge.
    for i in range(LIMIT):
        sign_in("api", f"u{i}", "wrong-password", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ADDRESS}
    assert sign_in("api", "res", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429

    # Behind a proxy: the right-most entry is the one the proxy appended; all clients share its address.
    AccessAttempt.objects.all().delete()
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    for i in range(LIMIT):
        sign_in("api", f"v{i}", "wrong-password", address="10.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ADDRESS}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ADDRESS}
    assert sign_in("api", "res", PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR=ADDRESS).status_code == 429
    other = sign_in("api", "res", PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert signed_in("api", other)
    # A header that holds no address falls back to the connection's.
    sign_in("api", "zz", "wrong-password", address="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address")
    assert AccessAttempt.objects.filter(ip_address="10.0.0.1").exists()


def test_weak_passwords_are_refused(world):
    for weak in ["short1!", "12345678901234", "password1234", "res@example.org"]:
        form = SetPasswordForm(world.researcher, {"new_password1": weak, "new_password2": weak})
        assert not form.is_valid(), weak
    strong = "violet-harbour-quartz"
    assert SetPasswordForm(world.researcher, {"new_password1": strong, "new_password2": strong}).is_valid()


@pytest.mark.parametrize(("language", "subject_word"), [("en", "new password"), ("zh-hans", "新密码")])
def test_password_reset_by_mail_in_the_persons_language(world, language, subject_word, settings):
    settings.SITE_URL = "https://sanjiao.example"
    world.researcher.language = language
    world.researcher.save()
    # Asked for from an English page: the mail still follows the person's own language.
    r = Client().post("/password/reset/", {"email": world.researcher.email}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 302 and r["Location"] == "/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [world.researcher.email] and subject_word in message.subject
    link = re.search(r"https://sanjiao\.example(/password/reset/\S+/)", message.body)
    assert link is not None, message.body

    client = Client()
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    new = "violet-harbour-quartz"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == "/password/reset/done/"
    world.researcher.refresh_from_db()
    assert world.researcher.check_password(new)

    # The link is spent.
    again = Client().get(link.group(1), follow=True)
    assert again.status_code == 200 and not again.context["validlink"]


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(world):
    r = Client().post("/password/reset/", {"email": "nobody@example.org"})
    assert r.status_code == 302 and r["Location"] == "/password/reset/sent/"
    assert mail.outbox == []


def test_a_lockout_is_logged_with_the_username_address_and_path(world, caplog):
    with caplog.at_level("WARNING", logger="sanjiao.signin"):
        for _ in range(LIMIT):
            sign_in("api", "res", "wrong-password")
    refused = [r for r in caplog.records if r.name == "sanjiao.signin"]
    assert refused and "'res'" in refused[-1].getMessage() and ADDRESS in refused[-1].getMessage()
    assert "/api/v1/auth/token/" in refused[-1].getMessage()


def test_staff_who_are_not_platform_admins_cannot_unlock(world):
    for _ in range(LIMIT):
        sign_in("page", "res", "wrong-password")
    world.manager.is_staff = True
    world.manager.save()
    staff = Client()
    staff.force_login(world.manager)
    staff.post("/admin/facilities/user/", {"action": "unlock_sign_in", "_selected_action": [world.researcher.pk]})
    assert AccessAttempt.objects.filter(username="res").exists()
    assert sign_in("page", "res", PASSWORD).status_code == 429
