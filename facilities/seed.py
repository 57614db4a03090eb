"""The Yangtze River Delta catalog and the demo people, loaded from files shipped with the project.

Every loader is idempotent: it keys rows on their codes and usernames, so running it again changes
nothing (and leaves alone what it does not own, such as passwords changed since)."""

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from .models import (
    CompanyRegistration,
    Facility,
    FundingAccount,
    GroupHourLimit,
    GroupMember,
    Institution,
    InstitutionDomain,
    Instrument,
    InstrumentRegistration,
    Membership,
    OperatingHours,
    RateCard,
    ResearchGroup,
    TimeShare,
    User,
)
from .models.tenants import JoinPolicy, Province, Role

DATA = Path(__file__).resolve().parent / "data"
DEMO_PASSWORD = "sanjiao-demo"

# Host institutions as named in the data file → the institution record that hosts the facility.
INSTITUTIONS = [
    # code, name, name_zh, kind, province, city
    (
        "SARI",
        "Shanghai Advanced Research Institute, CAS",
        "中国科学院上海高等研究院",
        "institute",
        "shanghai",
        "Shanghai",
    ),
    ("SHANGHAITECH", "ShanghaiTech University", "上海科技大学", "university", "shanghai", "Shanghai"),
    (
        "SIOM",
        "Shanghai Institute of Optics and Fine Mechanics, CAS",
        "中国科学院上海光学精密机械研究所",
        "institute",
        "shanghai",
        "Shanghai",
    ),
    (
        "CAS-SH",
        "Chinese Academy of Sciences, Shanghai Branch",
        "中国科学院上海分院",
        "institute",
        "shanghai",
        "Shanghai",
    ),
    ("SH-GOV", "Shanghai Municipal Government", "上海市人民政府", "agency", "shanghai", "Shanghai"),
    ("SHAO", "Shanghai Astronomical Observatory, CAS", "中国科学院上海天文台", "institute", "shanghai", "Shanghai"),
    ("SJTU", "Shanghai Jiao Tong University", "上海交通大学", "university", "shanghai", "Shanghai"),
    ("ASIPP", "Institute of Plasma Physics, CAS", "中国科学院等离子体物理研究所", "institute", "anhui", "Hefei"),
    ("CHMFL", "High Magnetic Field Laboratory, CAS", "中国科学院强磁场科学中心", "institute", "anhui", "Hefei"),
    ("USTC", "University of Science and Technology of China", "中国科学技术大学", "university", "anhui", "Hefei"),
    ("WUXI-GOV", "Wuxi Municipal Government", "无锡市人民政府", "agency", "jiangsu", "Wuxi"),
    ("NSCN", "National Supercomputing Network", "国家超算互联网", "agency", "jiangsu", "Kunshan"),
    ("PML", "Purple Mountain Laboratories", "紫金山实验室", "institute", "jiangsu", "Nanjing"),
    (
        "SINANO",
        "Suzhou Institute of Nano-Tech and Nano-Bionics, CAS",
        "中国科学院苏州纳米技术与纳米仿生研究所",
        "institute",
        "jiangsu",
        "Suzhou",
    ),
    ("NJU", "Nanjing University", "南京大学", "university", "jiangsu", "Nanjing"),
    ("ZJU", "Zhejiang University", "浙江大学", "university", "zhejiang", "Hangzhou"),
    ("ZJLAB", "Zhejiang Lab", "之江实验室", "institute", "zhejiang", "Hangzhou"),
    ("TONGXIANG-GOV", "Tongxiang Municipal Government", "桐乡市人民政府", "agency", "zhejiang", "Tongxiang"),
    # Not hosts: users of the demo.
    (
        "SUNRAY",
        "Sunray Materials Co., Ltd. (demo company)",
        "阳光材料有限公司（演示）",
        "company",
        "jiangsu",
        "Changzhou",
    ),
]

CITY_ZH = {
    "Shanghai": "上海",
    "Hefei": "合肥",
    "Wuxi": "无锡",
    "Kunshan": "昆山",
    "Nanjing": "南京",
    "Suzhou": "苏州",
    "Hangzhou": "杭州",
    "Tongxiang": "桐乡",
    "Changzhou": "常州",
}

HOST_OF = {
    "Shanghai Advanced Research Institute, CAS (SARI)": "SARI",
    "SARI, CAS with ShanghaiTech University": "SARI",
    "ShanghaiTech University, SARI and SIOM (CAS)": "SHANGHAITECH",
    "Shanghai Institute of Optics and Fine Mechanics, CAS (SIOM)": "SIOM",
    "Chinese Academy of Sciences": "CAS-SH",
    "Shanghai municipality": "SH-GOV",
    "Shanghai Astronomical Observatory, CAS (SHAO)": "SHAO",
    "Shanghai Jiao Tong University": "SJTU",
    "Institute of Plasma Physics, CAS (ASIPP)": "ASIPP",
    "High Magnetic Field Laboratory, CAS (CHMFL)": "CHMFL",
    "University of Science and Technology of China (USTC)": "USTC",
    "Wuxi municipality, Tsinghua University and JITRI": "WUXI-GOV",
    "national supercomputing network": "NSCN",
    "Jiangsu Province and Nanjing municipality": "PML",
    "Suzhou Institute of Nano-Tech and Nano-Bionics, CAS (SINANO)": "SINANO",
    "Nanjing University": "NJU",
    "Zhejiang University (ZJU)": "ZJU",
    "Zhejiang Province, Zhejiang University and Alibaba": "ZJLAB",
    "Tongxiang municipality": "TONGXIANG-GOV",
}

INSTRUMENT_FIELDS = [
    "name",
    "name_zh",
    "category",
    "description",
    "description_zh",
    "keywords",
    "keywords_zh",
    "booking_unit_minutes",
    "min_minutes",
    "max_minutes",
    "lead_time_minutes",
    "horizon_days",
    "buffer_minutes",
    "requires_approval",
    "requires_qualification",
    "max_future_bookings",
]


def _upsert(model, lookup: dict, values: dict):
    """update_or_create that writes only when something differs, so a second run touches nothing."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values), True
    changed = [k for k, v in values.items() if getattr(obj, k) != v]
    if changed:
        for k in changed:
            setattr(obj, k, values[k])
        obj.save(update_fields=changed)
    return obj, False


def _registration(national: dict) -> dict:
    """The national platform's fields of a seed instrument; `illustrative` says which are not public facts."""
    value = national.get("original_value")
    date = national.get("commissioning_date")
    return {
        **{k: national.get(k, "") for k in REGISTRATION_TEXT},
        "original_value": Decimal(value) if value else None,
        "commissioning_date": dt.date.fromisoformat(date) if date else None,
    }


REGISTRATION_TEXT = [
    "classification_code",
    "specifications",
    "main_functions",
    "disciplines",
    "service_content",
    "sharing_rules",
    "location",
    "contact_name",
    "contact_email",
    "sharing_mode",
    "illustrative",
]


@transaction.atomic
def load_catalog() -> dict[str, int]:
    institutions = {}
    for code, name, name_zh, kind, province, city in INSTITUTIONS:
        institutions[code], _ = _upsert(
            Institution,
            {"code": code},
            {
                "name": name,
                "name_zh": name_zh,
                "kind": kind,
                "province": province,
                "city": city,
                "city_zh": CITY_ZH[city],
            },
        )
    extra = json.loads((DATA / "catalog.json").read_text(encoding="utf-8"))
    facilities = {}
    with (DATA / "yrd_facilities.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            info = extra["facilities"].get(row["code"], {})
            facilities[row["code"]], _ = _upsert(
                Facility,
                {"code": row["code"]},
                {
                    "name": row["name_en"],
                    "name_zh": row["name_zh"],
                    "province": row["province"],
                    "city": row["city"],
                    "city_zh": row["city_zh"],
                    "host": institutions[HOST_OF[row["host"]]],
                    "host_label": row["host"],
                    "host_label_zh": row["host_zh"],
                    "category": row["category"],
                    "status": row["status"],
                    "booked_as": row["booked_as"],
                    "booked_as_zh": row["booked_as_zh"],
                    "description": info.get("description", ""),
                    "description_zh": info.get("description_zh", ""),
                    "website": info.get("website", ""),
                    "follows_office_calendar": info.get("follows_office_calendar", False),
                },
            )
    for code, info in extra["facilities"].items():
        hours = info.get("hours", "24x7")
        if (
            hours == "24x7"
            or OperatingHours.objects.filter(facility=facilities[code], instrument__isnull=True).exists()
        ):
            continue
        OperatingHours.objects.bulk_create(
            OperatingHours(
                facility=facilities[code], weekday=wd, opens=dt.time.fromisoformat(o), closes=dt.time.fromisoformat(c)
            )
            for wd, o, c in hours
        )
    for item in extra["instruments"]:
        instrument, _ = _upsert(
            Instrument,
            {"facility": facilities[item["facility"]], "code": item["code"]},
            {k: item[k] for k in INSTRUMENT_FIELDS},
        )
        for user_class, rate in item["rates"].items():
            _upsert(RateCard, {"instrument": instrument, "user_class": user_class}, {"hourly_rate": Decimal(rate)})
        if "national" in item and not InstrumentRegistration.objects.filter(instrument=instrument).exists():
            # Written once: what a facility has filed since (registry numbers, real values) is theirs.
            InstrumentRegistration.objects.create(instrument=instrument, **_registration(item["national"]))
    # A co-built instrument: the Hefei Light Source's partner beamline keeps 35% of its hours for ZJU.
    partner = Instrument.objects.filter(facility__code="NSRL").order_by("code").first()
    if partner:
        _upsert(TimeShare, {"instrument": partner, "institution": institutions["ZJU"]}, {"percent": Decimal("35.00")})
    return {
        "institutions": Institution.objects.count(),
        "facilities": Facility.objects.count(),
        "instruments": Instrument.objects.count(),
    }


# username, first, last, role, institution, managed facilities
DEMO_PEOPLE = [
    ("wei.zhang", "Wei", "Zhang", Role.RESEARCHER, "USTC", []),
    ("lin.chen", "Lin", "Chen", Role.RESEARCHER, "ZJU", []),
    ("ssrf.manager", "Hong", "Li", Role.FACILITY_MANAGER, "SARI", ["SSRF"]),
    ("hmfl.manager", "Jun", "Wang", Role.FACILITY_MANAGER, "CHMFL", ["SHMFF"]),
    ("ustc.finance", "Fang", "Liu", Role.FINANCE, "USTC", []),
    ("zju.finance", "Min", "Xu", Role.FINANCE, "ZJU", []),
    # Further people so the demo history has several institutions on each side.
    ("yu.sun", "Yu", "Sun", Role.RESEARCHER, "SJTU", []),
    ("hao.zhou", "Hao", "Zhou", Role.RESEARCHER, "NJU", []),
    ("qing.wu", "Qing", "Wu", Role.RESEARCHER, "SUNRAY", []),
    ("sari.finance", "Lan", "Ma", Role.FINANCE, "SARI", []),
    ("chmfl.finance", "Tao", "He", Role.FINANCE, "CHMFL", []),
    ("zju.manager", "Rui", "Qian", Role.FACILITY_MANAGER, "ZJU", ["CHIEF", "ZJU-LIP"]),
    ("nfps.manager", "Ning", "Gao", Role.FACILITY_MANAGER, "CAS-SH", ["NFPS"]),
    # Institution administrators: read their institution's audit trail and the reports of the facilities it hosts.
    ("ustc.admin", "Qiang", "Zhao", Role.INSTITUTION_ADMIN, "USTC", []),
    ("zju.admin", "Yan", "Lu", Role.INSTITUTION_ADMIN, "ZJU", []),
    # Beamtime by proposal: SSRF's user office and two reviewers from institutions of their own.
    ("ssrf.useroffice", "Jing", "Zhao", Role.USER_OFFICE, "SARI", ["SSRF"]),
    ("reviewer.li", "Ming", "Li", Role.REVIEWER, "NJU", []),
    ("reviewer.gao", "Yan", "Gao", Role.REVIEWER, "ZJLAB", []),
]

# code, title, institution, principal investigator, members, budget cap (titles in Chinese: DEMO_ACCOUNT_TITLES_ZH)
DEMO_ACCOUNTS = [
    (
        "USTC-NSFC-22175001",
        "NSFC: Operando spectroscopy of single-atom catalysts",
        "USTC",
        "wei.zhang",
        ["lin.chen"],
        None,
    ),
    ("USTC-CC-PHYS-0451", "USTC School of Physical Sciences cost centre", "USTC", "wei.zhang", [], "200000.00"),
    ("ZJU-NSFC-52278001", "NSFC: Hypergravity modelling of slope failure", "ZJU", "lin.chen", ["wei.zhang"], None),
    ("ZJU-KEY-2025-017", "Zhejiang key R&D: Cryo-EM of membrane transporters", "ZJU", "lin.chen", [], "500000.00"),
    ("SJTU-NSFC-12374001", "NSFC: Quantum materials under high fields", "SJTU", "yu.sun", [], None),
    ("NJU-MOST-2024YFA1408", "MOST key programme: Topological semimetals", "NJU", "hao.zhou", [], None),
    ("SUNRAY-RD-2026", "Sunray R&D budget 2026", "SUNRAY", "qing.wu", [], "300000.00"),
]

DEMO_ACCOUNT_TITLES_ZH = {
    "USTC-NSFC-22175001": "国家自然科学基金：单原子催化剂的原位光谱研究",
    "USTC-CC-PHYS-0451": "中国科学技术大学物理学院成本中心",
    "ZJU-NSFC-52278001": "国家自然科学基金：边坡失稳的超重力模拟",
    "ZJU-KEY-2025-017": "浙江省重点研发计划：膜转运蛋白的冷冻电镜研究",
    "SJTU-NSFC-12374001": "国家自然科学基金：强磁场下的量子材料",
    "NJU-MOST-2024YFA1408": "科技部重点研发计划：拓扑半金属",
    "SUNRAY-RD-2026": "阳光材料 2026 年研发预算",
}


@transaction.atomic
def load_demo_people() -> dict[str, int]:
    institutions = {i.code: i for i in Institution.objects.all()}
    facilities = {f.code: f for f in Facility.objects.all()}
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        User.objects.create_superuser("admin", "admin@sanjiao.example", DEMO_PASSWORD)
    users = {}
    for username, first, last, role, inst, managed in DEMO_PEOPLE:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username, f"{username}@sanjiao.example", DEMO_PASSWORD, first_name=first, last_name=last
            )
        users[username] = user
        membership, _ = Membership.objects.get_or_create(user=user, institution=institutions[inst], role=role)
        if managed:
            membership.facilities.add(*[facilities[c] for c in managed])
    today = dt.date.today()
    for code, title, inst, pi, members, cap in DEMO_ACCOUNTS:
        account, _ = _upsert(
            FundingAccount,
            {"code": code},
            {
                "title": title,
                "title_zh": DEMO_ACCOUNT_TITLES_ZH[code],
                "institution": institutions[inst],
                "principal_investigator": users[pi],
                "valid_from": dt.date(2024, 1, 1),
                "valid_until": dt.date(today.year + 3, 12, 31),
                "budget_cap": Decimal(cap) if cap else None,
            },
        )
        account.members.add(*[users[m] for m in members])
        if users[pi].default_account_id is None:
            users[pi].default_account = account
            users[pi].save(update_fields=["default_account"])
    return {"users": User.objects.count(), "accounts": FundingAccount.objects.count()}


# A research group for the demo (docs/identity.md): wei.zhang leads it, the student jing.li belongs to it,
# it uses wei.zhang's NSFC grant and may hold at most 24 hours a month of SSRF's first beamline.
DEMO_GROUP = ("Zhang lab: operando spectroscopy", "USTC", "wei.zhang", "USTC-NSFC-22175001", 24)
DEMO_STUDENT = ("jing.li", "Jing", "Li")


@transaction.atomic
def load_demo_groups() -> dict[str, int]:
    name, inst, leader_name, account_code, hours = DEMO_GROUP
    institution = Institution.objects.get(code=inst)
    leader = User.objects.get(username=leader_name)
    account = FundingAccount.objects.get(code=account_code)
    username, first, last = DEMO_STUDENT
    student = User.objects.filter(username=username).first()
    if student is None:
        student = User.objects.create_user(
            username, f"{username}@sanjiao.example", DEMO_PASSWORD, first_name=first, last_name=last
        )
    Membership.objects.get_or_create(user=student, institution=institution, role=Role.RESEARCHER)
    account.members.add(student)
    if student.default_account_id is None:
        student.default_account = account
        student.save(update_fields=["default_account"])
    group, _ = ResearchGroup.objects.get_or_create(institution=institution, name=name, defaults={"leader": leader})
    group.accounts.add(account)
    GroupMember.objects.get_or_create(group=group, user=student, defaults={"kind": GroupMember.Kind.STUDENT})
    beamline = Instrument.objects.filter(facility__code="SSRF", active=True).order_by("code").first()
    if beamline is not None:
        GroupHourLimit.objects.get_or_create(
            group=group, instrument=beamline, period=GroupHourLimit.Period.MONTH, defaults={"max_hours": hours}
        )
    return {"groups": ResearchGroup.objects.count(), "group members": GroupMember.objects.count()}


# Institution domains and join policies (docs/identity.md, "Joining an institution"): a person who signs
# up with a verified address at one of these domains, or signs in through the institution's identity
# provider, asks to join it. USTC's administrators confirm new members; ZJU confirms them at once.
DEMO_DOMAINS = {
    "USTC": (["ustc.edu.cn", "mail.ustc.edu.cn"], JoinPolicy.CONFIRM),
    "ZJU": (["zju.edu.cn"], JoinPolicy.AUTOMATIC),
    "NJU": (["nju.edu.cn"], JoinPolicy.CONFIRM),
    "SJTU": (["sjtu.edu.cn"], JoinPolicy.CONFIRM),
    "SHANGHAITECH": (["shanghaitech.edu.cn"], JoinPolicy.CONFIRM),
    "SARI": (["sari.ac.cn"], JoinPolicy.CONFIRM),
}


# A company that registered (as through /accounts/signup/) and awaits a platform administrator's approval:
# it may sign in, and sees that it may not book yet. Its unified social credit code is made up (Suzhou,
# Wuzhong district: 320506) with a correct GB 32100-2015 check character.
DEMO_COMPANY = ("acme.lab", "ops@acme-lab.example", "Acme Lab Instruments (Suzhou) Co., Ltd.", "91320506MA1WXR3K22")


@transaction.atomic
def load_demo_joining() -> dict[str, int]:
    from allauth.account.models import EmailAddress

    for code, (domains, policy) in DEMO_DOMAINS.items():
        institution = Institution.objects.filter(code=code).first()
        if institution is None:
            continue
        _upsert(Institution, {"pk": institution.pk}, {"join_policy": policy})
        for domain in domains:
            InstitutionDomain.objects.get_or_create(domain=domain, defaults={"institution": institution})
    username, email, company, credit_code = DEMO_COMPANY
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username, email, DEMO_PASSWORD, first_name="Mei", last_name="Gu")
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if not CompanyRegistration.objects.filter(user=user).exists():
        CompanyRegistration.objects.create(
            user=user, company_name=company, credit_code=credit_code, province=Province.JIANGSU
        )
    return {
        "institution domains": InstitutionDomain.objects.count(),
        "companies awaiting approval": CompanyRegistration.objects.filter(state="pending").count(),
    }
