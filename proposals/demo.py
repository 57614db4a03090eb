"""The demo of beamtime by proposal: SSRF's 2027-1 call (illustrative figures), written through the
services as the people of the demo would, at fixed moments of the call's timeline. Idempotent: nothing
is written when the call exists. Sessions are placed only while the cycle is still ahead."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from common.time import local_tz
from facilities.models import Facility, Instrument, User

from . import services
from .models import Call, ShiftRequest

CODE = "2027-1"


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), local_tz())


@transaction.atomic
def load_demo_proposals(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    ssrf = Facility.objects.filter(code="SSRF").first()
    if ssrf is None or Call.objects.filter(facility=ssrf, code=CODE).exists():
        return {"calls": Call.objects.count()}
    people = {
        u.username: u
        for u in User.objects.filter(
            username__in=[
                "ssrf.useroffice",
                "reviewer.li",
                "reviewer.gao",
                "wei.zhang",
                "lin.chen",
                "yu.sun",
                "hao.zhou",
                "qing.wu",
            ]
        )
    }
    if len(people) < 8:
        return {"calls": Call.objects.count()}
    office = people["ssrf.useroffice"]
    xafs = Instrument.objects.get(facility=ssrf, code="BL14W1")
    mx = Instrument.objects.get(facility=ssrf, code="BL17U1")
    opens, closes = _at(dt.date(2026, 9, 1), 9), _at(dt.date(2026, 11, 15), 17)
    window = opens + dt.timedelta(days=10)
    call = services.call_create(
        actor=office,
        facility=ssrf,
        code=CODE,
        title="SSRF regular proposals 2027-1 (illustrative)",
        title_zh="上海光源 2027-1 期常规课题（示例）",
        description="Beamtime from March to June 2027 on BL14W1 (XAFS) and BL17U1 (crystallography).",
        description_zh="2027 年 3 月至 6 月 BL14W1（XAFS）与 BL17U1（晶体学）线站机时。",
        opens_at=opens,
        closes_at=closes,
        cycle_start=dt.date(2027, 3, 1),
        cycle_end=dt.date(2027, 6, 30),
        grade_min=Decimal("1.0"),
        grade_max=Decimal("5.0"),
        offers=[
            {"instrument": xafs.pk, "shifts_available": 24, "rapid_shifts": 3},
            {"instrument": mx.pk, "shifts_available": 18, "rapid_shifts": 3},
        ],
    )

    def propose(pi, title, instrument, shifts, team=(), track="regular", submit=True, preferred=()):
        p = services.proposal_create(
            actor=people[pi],
            call=call,
            track=track,
            now=window,
            fields={
                "title": title,
                "abstract": f"{title}. (Demo proposal; illustrative.)",
                "samples": "Powders and single crystals, sealed.",
                "hazards": "No radioactive or biohazardous material.",
                "team": [{"username": u, "role": "co_proposer"} for u in team],
                "requests": [{"instrument": instrument.pk, "shifts": shifts}],
                "preferred_dates": list(preferred),
            },
        )
        if submit:
            services.proposal_submit(actor=people[pi], proposal_id=p.pk, now=window + dt.timedelta(days=5))
        return p

    sodium = propose(
        "wei.zhang", "Operando XAFS of sodium-ion cathodes", xafs, 9, team=["lin.chen"], preferred=["2027-03-15"]
    )
    protein = propose("yu.sun", "Ligand binding in a membrane transporter", mx, 6)
    semimetal = propose("hao.zhou", "Local structure of topological semimetals", xafs, 18)
    rapid = propose("qing.wu", "Quick check of a battery-grade precursor", mx, 2, track="rapid")
    propose("lin.chen", "Hypergravity-aged soils (draft)", xafs, 4, submit=False)

    for p in (sodium, protein, semimetal, rapid):
        for kind in ("feasibility", "safety"):
            services.check_record(actor=office, proposal_id=p.pk, kind=kind, passed=True, comment="OK")
    grades = {
        sodium.pk: {"reviewer.li": "4.6", "reviewer.gao": "4.4"},
        protein.pk: {"reviewer.li": "4.0", "reviewer.gao": "3.8"},
        # reviewer.li is at NJU, the PI's institution: a conflict of interest, so only reviewer.gao grades it.
        semimetal.pk: {"reviewer.gao": "3.1"},
    }
    for pid, by in grades.items():
        for name, grade in by.items():
            a = services.reviewer_assign(actor=office, proposal_id=pid, reviewer_username=name)
            services.review_grade(
                actor=people[name], assignment_id=a.pk, grade=grade, comment="Clear aims; feasible in the shifts asked."
            )
    decided = closes + dt.timedelta(days=10)
    services.proposal_award(
        actor=office, proposal_id=sodium.pk, awards={xafs.pk: 9}, comment="Awarded in full.", now=decided
    )
    services.proposal_award(actor=office, proposal_id=protein.pk, awards={mx.pk: 4}, now=decided)
    services.proposal_award(actor=office, proposal_id=semimetal.pk, awards={xafs.pk: 0}, now=decided)
    services.proposal_award(actor=office, proposal_id=rapid.pk, awards={mx.pk: 2}, now=decided)

    sessions = 0
    first = max(dt.date(2027, 3, 15), timezone.localdate(now) + dt.timedelta(days=21))
    if first <= dt.date(2027, 6, 1):
        request = ShiftRequest.objects.get(proposal=sodium)
        confirmed = services.session_place(actor=office, request_id=request.pk, start=_at(first, 8), shifts=3)
        services.session_place(
            actor=office, request_id=request.pk, start=_at(first + dt.timedelta(days=14), 8), shifts=3
        )
        late = services.session_place(
            actor=office, request_id=request.pk, start=_at(first + dt.timedelta(days=28), 8), shifts=1
        )
        services.session_confirm(actor=people["wei.zhang"], session_id=confirmed.pk)
        services.safety_submit(
            actor=people["wei.zhang"], session_id=confirmed.pk, content="Sealed coin cells; no hazards."
        )
        services.safety_approve(actor=office, session_id=confirmed.pk, now=now)
        # The team cancels its third session two days before it starts: that shift is forfeited.
        services.session_cancel(
            actor=people["wei.zhang"], session_id=late.pk, now=late.booking.start - dt.timedelta(days=2)
        )
        mx_request = ShiftRequest.objects.get(proposal=protein)
        services.session_place(
            actor=office, request_id=mx_request.pk, start=_at(first + dt.timedelta(days=3), 8), shifts=2
        )
        sessions = 4
    return {"calls": 1, "proposals": 5, "sessions placed": sessions}
