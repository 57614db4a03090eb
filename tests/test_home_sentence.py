"""The home page (where "/" sends a visitor who has not signed in) says in one sentence what Sanjiao is and
where each role starts, in both languages."""

import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.parametrize(
    "lang, words",
    [
        ("en", ["Sanjiao books the research instruments", "My bookings", "manager console", "finance console"]),
        ("zh-hans", ["长三角共享平台科研仪器的预约系统", "我的预约", "管理控制台", "财务控制台"]),
    ],
)
def test_the_first_page_says_what_sanjiao_is_and_where_each_role_starts(db, lang, words):
    r = Client(HTTP_ACCEPT_LANGUAGE=lang).get("/", follow=True)
    assert r.redirect_chain[-1][0] == reverse("frontend:catalog")
    page = r.content.decode()
    for w in words:
        assert w in page
    for name in ("frontend:dashboard", "frontend:console", "frontend:finance"):
        assert f'href="{reverse(name)}"' in page
