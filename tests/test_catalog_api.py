import pytest
from django.core.management import call_command

from facilities.models import Facility, FundingAccount, Institution, Instrument, User
from facilities.seed import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    call_command("seed_catalog", verbosity=0)
    call_command("seed_demo_people", verbosity=0)


def test_catalog_has_every_facility_of_the_data_file_in_four_provinces(seeded):
    import csv

    from facilities.seed import DATA

    with (DATA / "yrd_facilities.csv").open(encoding="utf-8") as fh:
        codes = {row["code"] for row in csv.DictReader(fh)}
    assert set(Facility.objects.values_list("code", flat=True)) == codes
    assert set(Facility.objects.values_list("province", flat=True)) == {"shanghai", "anhui", "jiangsu", "zhejiang"}
    assert Instrument.objects.count() >= 60
    # Seeded rules and rates are labelled illustrative wherever a person reads them.
    assert not Instrument.objects.exclude(description__icontains="illustrative").exists()


def test_seed_twice_changes_nothing(seeded):
    def snapshot():
        return {
            model.__name__: sorted(map(repr, model.objects.values()))
            for model in (Institution, Facility, Instrument, FundingAccount)
        } | {"users": sorted(User.objects.values_list("username", "password", "default_account_id"))}

    before = snapshot()
    call_command("seed_catalog", verbosity=0)
    call_command("seed_demo_people", verbosity=0)
    assert snapshot() == before


def test_every_demo_account_obtains_a_token(seeded, client):
    for username in ["admin", "wei.zhang", "lin.chen", "ssrf.manager", "hmfl.manager", "ustc.finance", "zju.finance"]:
        r = client.post(
            "/api/v1/auth/token/", {"username": username, "password": DEMO_PASSWORD}, content_type="application/json"
        )
        assert r.status_code == 200, (username, r.content)
        token = r.json()["token"]
        me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
        assert me.status_code == 200
        assert me.json()["username"] == username
        assert me.json()["calendar_url"].endswith(".ics")


def test_me_reports_institution_and_roles(seeded, client):
    token = client.post(
        "/api/v1/auth/token/", {"username": "ssrf.manager", "password": DEMO_PASSWORD}, content_type="application/json"
    ).json()["token"]
    body = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert body["institution"] == "SARI"
    assert body["roles"] == ["facility_manager"]


def test_wrong_password_is_a_clear_400(seeded, client):
    r = client.post(
        "/api/v1/auth/token/", {"username": "wei.zhang", "password": "nope"}, content_type="application/json"
    )
    assert r.status_code == 400
    assert "wrong password" in r.json()["detail"]


def test_facility_filters(seeded, client):
    anhui = client.get("/api/v1/facilities/?province=anhui&page_size=100").json()
    assert anhui["count"] == Facility.objects.filter(province="anhui").count() > 0
    assert {f["province"] for f in anhui["results"]} == {"anhui"}
    spec = {"code", "name", "name_zh", "province", "city", "host", "category", "status"}
    assert set(anhui["results"][0]) == spec | {"city_zh", "host_zh"}  # the SPEC's fields, and Chinese beside them
    light = client.get("/api/v1/facilities/?category=light_source").json()
    assert {f["code"] for f in light["results"]} >= {"SSRF", "NSRL"}
    hefei_magnets = client.get("/api/v1/facilities/?city=hefei&category=magnet").json()["results"]
    assert [f["code"] for f in hefei_magnets] == ["SHMFF"]
    # NFPS too: its allocation of beamtime on SSRF's BL19U2 is a synchrotron instrument of its own.
    synchrotron = client.get("/api/v1/facilities/?q=同步辐射").json()["results"]
    assert [f["code"] for f in synchrotron] == ["NSRL", "NFPS", "SSRF"]
    assert [f["code"] for f in client.get("/api/v1/facilities/?q=上海同步").json()["results"]] == ["SSRF"]


@pytest.mark.parametrize("query,field", [("province=guangdong", "province"), ("category=zoo", "category")])
def test_unknown_filter_values_are_400_naming_allowed_values(seeded, client, query, field):
    r = client.get(f"/api/v1/facilities/?{query}")
    assert r.status_code == 400
    message = r.json()[field][0]
    assert "allowed values are" in message
    if field == "province":
        assert "shanghai, anhui, jiangsu, zhejiang" in message


def test_facility_detail_lists_instruments(seeded, client):
    body = client.get("/api/v1/facilities/SSRF/").json()
    assert body["code"] == "SSRF" and body["host"].startswith("Shanghai Advanced Research Institute")
    codes = {i["code"] for i in body["instruments"]}
    assert {"BL17U1", "BL14W1", "BL13W1"} <= codes
    assert client.get("/api/v1/facilities/NOPE/").status_code == 404


def test_instrument_filters_and_contract_fields(seeded, client):
    body = client.get("/api/v1/instruments/?facility=SHMFF&page_size=100").json()
    assert body["count"] > 1
    item = body["results"][0]
    for key in [
        "id",
        "code",
        "name",
        "facility",
        "booking_unit_minutes",
        "min_minutes",
        "max_minutes",
        "lead_time_minutes",
        "horizon_days",
        "buffer_minutes",
        "requires_approval",
    ]:
        assert key in item
    assert {i["facility"] for i in body["results"]} == {"SHMFF"}
    # SPEC: SSRF needs approval; at least one SHMFF instrument does not.
    assert all(
        i["requires_approval"] for i in client.get("/api/v1/instruments/?facility=SSRF&page_size=100").json()["results"]
    )
    assert any(not i["requires_approval"] for i in body["results"])
    r = client.get("/api/v1/instruments/?facility=ATLANTIS")
    assert r.status_code == 400 and "ATLANTIS" in r.json()["facility"][0]
    assert client.get("/api/v1/instruments/?category=spaceship").status_code == 400


def test_catalog_list_query_count_is_constant(seeded, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        client.get("/api/v1/facilities/?page_size=100")
    with django_assert_max_num_queries(4):
        client.get("/api/v1/instruments/?page_size=200")


def test_schema_and_docs_need_no_external_url(seeded, client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/facilities/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    import re

    external = [u for u in re.findall(r'(?:src|href)=["\']([^"\']+)', html) if u.startswith(("http:", "https:", "//"))]
    assert external == []
    for asset in re.findall(r'(?:src|href)=["\'](/static/[^"\']+)', html):
        from django.contrib.staticfiles import finders

        assert finders.find(asset.removeprefix("/static/").split("?")[0]), asset


def test_demo_institution_admins_read_their_trail(seeded, client):
    for username, code in (("ustc.admin", "USTC"), ("zju.admin", "ZJU")):
        token = client.post(
            "/api/v1/auth/token/", {"username": username, "password": DEMO_PASSWORD}, content_type="application/json"
        ).json()["token"]
        me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").json()
        assert me["institution"] == code and me["roles"] == ["institution_admin"]
        trail = client.get("/api/v1/audit/", HTTP_AUTHORIZATION=f"Token {token}")
        assert trail.status_code == 200
        assert all(code in row["institutions"] for row in trail.json()["results"])
