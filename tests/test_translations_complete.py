"""Chinese all the way (issue 16, item 3): the message catalog has no entry left untranslated or fuzzy,
the compiled catalog is the one the source says, no refusal in the covered apps is an English literal
outside gettext, and representative refusals of the API and the live sockets come back in Chinese when
the client asks for it."""

import ast
import datetime as dt
import gettext
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import translation

from booking.live.consumers import AvailabilityConsumer
from facilities.models import Qualification, TimeShare

from .factories.facilities import FacilityFactory, UserFactory, member

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line) for line in lines)


def po_entries(text: str) -> list[dict]:
    """The catalog's live entries (obsolete "#~" ones are not read): context, id, plural, strings, flags."""
    entries = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.strip().splitlines() if line and not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        entry: dict = {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": []}
        fields: list[tuple[str, list[str]]] = []
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[-1][1].append(line)
            else:
                key, rest = line.split(" ", 1)
                fields.append((key, [rest]))
        for key, parts in fields:
            if key.startswith("msgstr"):
                entry["msgstr"].append(_unquote(parts))
            else:
                entry[key] = _unquote(parts)
        entries.append(entry)
    return entries


def test_every_catalog_entry_is_translated_and_none_is_fuzzy():
    entries = [e for e in po_entries(PO.read_text(encoding="utf-8")) if e["msgid"]]
    assert len(entries) > 1000  # the parser read the catalog, not nothing
    untranslated = [e["msgid"] for e in entries if not all(s.strip() for s in e["msgstr"])]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == [], f"untranslated in {PO.name}: {untranslated[:10]}"
    assert fuzzy == [], f"fuzzy in {PO.name}: {fuzzy[:10]}"


def test_the_compiled_catalog_matches_its_source():
    """compilemessages was run after the last change of the .po."""
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for e in po_entries(PO.read_text(encoding="utf-8")):
        if not e["msgid"] or e["msgid_plural"]:
            continue
        got = compiled.pgettext(e["msgctxt"], e["msgid"]) if e["msgctxt"] is not None else compiled.gettext(e["msgid"])
        if got != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert stale == [], f"run compilemessages: {stale[:10]}"


def test_the_parser_sees_an_untranslated_and_a_fuzzy_entry():
    sample = "\n".join(
        ['msgid ""', 'msgstr ""', "", 'msgid "Open"', 'msgstr ""', "", "#, fuzzy", 'msgid "Shut"', 'msgstr "关"']
    )
    entries = {e["msgid"]: e for e in po_entries(sample)}
    assert entries["Open"]["msgstr"] == [""] and "fuzzy" in entries["Shut"]["flags"]


# --- No refusal is an English literal outside gettext --------------------------------------------------

COVERED = (
    "audit",
    "billing",
    "booking",
    "common",
    "config",
    "facilities",
    "frontend",
    "outbox",
    "proposals",
    "reports",
    "usage",
)
REFUSALS = {"ValidationError", "PermissionDenied", "Http404", "Conflict", "NotFound", "ParseError", "ProtocolError"}
SOCKET_WORDS = {"send_error", "refuse"}
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext", "_l"}


def _name(func) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _literals(node, out: list) -> None:
    """English words in string literals under `node` that no gettext call wraps."""
    if isinstance(node, ast.Call):
        if _name(node.func) in GETTEXT | {"strftime", "repr", "join", "iso_local", "localtime"}:
            return
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            _literals(arg, out)
        if isinstance(node.func, ast.Attribute):
            _literals(node.func.value, out)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", node.value):
            out.append(node)
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", text):
            out.append(node)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            _literals(value, out)
    elif isinstance(node, (ast.BinOp, ast.IfExp, ast.List, ast.Tuple)):
        for child in ast.iter_child_nodes(node):
            _literals(child, out)


def english_refusals(source: str) -> list[int]:
    found: list = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node.func) in REFUSALS | SOCKET_WORDS:
            for arg in [*node.args, *(k.value for k in node.keywords if k.arg != "code")]:
                _literals(arg, found)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and k.value in ("detail", "message"):
                    _literals(v, found)
    return sorted({n.lineno for n in found})


def test_no_refusal_is_an_english_literal():
    offenders = []
    for app in COVERED:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line in english_refusals(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], "wrap these in gettext and translate them: " + ", ".join(offenders[:20])


def test_the_scan_finds_an_unwrapped_refusal():
    source = (
        "def f(x):\n"
        "    raise ValidationError({'end': f'The end {x} is wrong.'})\n"
        "def g():\n"
        "    raise PermissionDenied(_('Only managers may.'))\n"
        "def h():\n"
        "    raise Http404('No such thing.')\n"
    )
    assert english_refusals(source) == [2, 6]


# --- Representative refusals come back in Chinese -----------------------------------------------------


@pytest.fixture(autouse=True)
def back_to_english():
    yield
    translation.activate("en")


def no_english(text: str, *allowed: str) -> bool:
    for word in allowed:
        text = text.replace(word, "")
    return not re.search(r"[A-Za-z]{3,}", text)


def test_management_api_refusals_speak_chinese(world):
    mgr = world.client(world.manager)
    inst = f"/api/v1/instruments/{world.instrument.pk}"
    TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent=Decimal("80"))

    r = mgr.put(f"{inst}/time-shares/", {"institution": "USTC", "percent": "30"}, format="json", **ZH)
    assert r.status_code == 400 and "最多还可分配 20.00%" in r.json()["percent"][0], r.json()
    assert no_english(r.json()["percent"][0], "BL1")

    r = mgr.post(
        "/api/v1/facilities/FAC/hours/", {"weekday": 0, "opens": "10:00", "closes": "09:00"}, format="json", **ZH
    )
    assert r.status_code == 400 and r.json()["closes"] == ["关闭时间必须晚于开放时间。"], r.json()

    r = mgr.patch(f"{inst}/charge-policy/", {"colour": "red"}, format="json", **ZH)
    assert r.status_code == 400 and r.json()["colour"] == ["这不属于计费规则。"]

    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    r = mgr.post(f"{inst}/qualifications/", {"username": "res", "expires_on": past}, format="json", **ZH)
    assert r.status_code == 400 and "不能" in r.json()["expires_on"][0], r.json()
    assert no_english(r.json()["expires_on"][0]), r.json()
    assert not Qualification.objects.exists()

    stranger = UserFactory(username="else-mgr")
    member(stranger, world.zju, "facility_manager", [FacilityFactory(code="ELSE")])
    r = world.client(stranger).put(
        f"{inst}/rates/", {"user_class": "industry", "hourly_rate": "1"}, format="json", **ZH
    )
    assert r.status_code == 403 and r.json()["detail"] == "只有该设施的管理员可以执行此操作。"


def test_refusals_of_other_apis_speak_chinese(world):
    r = world.client(world.manager).get("/api/v1/reports/sharing/?facility=FAC&period=2026-13", **ZH)
    assert r.status_code == 400 and "月份为 01 至 12" in json.dumps(r.json(), ensure_ascii=False), r.json()

    r = world.client(world.researcher).get("/api/v1/bookings/?status=lost", **ZH)
    assert r.status_code == 400 and "未知的状态" in json.dumps(r.json(), ensure_ascii=False), r.json()

    r = world.client(world.researcher).get("/api/v1/reports/sharing/?facility=FAC&period=2026-Q3", **ZH)
    detail = r.json()["detail"]
    assert r.status_code == 403 and detail.startswith("您无权查看FAC 的报表：报表仅向"), detail
    assert no_english(detail, "FAC")

    # And in English without the header: the same words as before.
    r = world.client(world.researcher).get("/api/v1/bookings/?status=lost")
    assert r.status_code == 400 and "Unknown status 'lost'" in json.dumps(r.json())


def test_the_live_socket_answers_in_the_language_of_its_handshake(db, settings, monkeypatch):
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from asgiref.sync import async_to_sync

    async def ask(headers):
        ws = WebsocketCommunicator(AvailabilityConsumer.as_asgi(), "/ws/availability/", headers=headers)
        connected, _subprotocol = await ws.connect(timeout=10)
        assert connected
        await ws.send_to(text_data="not json")
        answer = await ws.receive_json_from(timeout=10)
        await ws.disconnect()
        return answer

    chinese = async_to_sync(ask)([(b"accept-language", b"zh-hans")])
    assert chinese == {"type": "error", "detail": "消息不是有效的 JSON。"}
    english = async_to_sync(ask)([])
    assert english == {"type": "error", "detail": "The message is not valid JSON."}
    by_cookie = async_to_sync(ask)([(b"cookie", f"{settings.LANGUAGE_COOKIE_NAME}=zh-hans".encode())])
    assert by_cookie["detail"] == "消息不是有效的 JSON。"
