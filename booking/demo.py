"""The demo history: about three months of past bookings and a few upcoming ones, so that invoices,
exports and utilisation charts have something real to show.

Every booking goes through booking_import (the conflict check under the instrument's lock, the
instrument's rules and the transition services), so billing charges them as it would live ones.
Deterministic: a fixed random seed picks the days and hours, relative to today. Idempotent: each
booking carries an import key (who, which month back, which slot), and a key already present is
skipped, so a second run, even on a later day, writes nothing.
"""

import calendar
import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from common.errors import Conflict
from common.time import local_tz
from facilities.models import FundingAccount, Instrument, Qualification, User

from .models import Booking
from .services.imports import booking_import, import_exists

SEED = 20260901
MONTHS_BACK = 3

# Who books where: facilities hosted by institutions other than the researcher's own.
PLACES = {
    "wei.zhang": [("SSRF", "BL14W1"), ("SHMFF", "WM2"), ("NFPS", "CRYOEM-2")],
    "lin.chen": [("SSRF", "BL17U1"), ("NFPS", "CRYOEM-1"), ("SHMFF", "SCM1")],
    "yu.sun": [("SHMFF", "WM1"), ("SSRF", "BL02U1"), ("NFPS", "NMR-1")],
    "hao.zhou": [("SHMFF", "SCM3"), ("CHIEF", "CHIEF1300"), ("SSRF", "BL19U1")],
    "qing.wu": [("NFPS", "NMR-2"), ("SHMFF", "SMA"), ("NFPS", "MS-1")],
}
# Researchers named on another institution's grant split some bookings with it.
SHARED = {"wei.zhang": "ZJU-NSFC-52278001", "lin.chen": "USTC-NSFC-22175001"}
MANAGERS = {"SSRF": "ssrf.manager", "SHMFF": "hmfl.manager", "NFPS": "nfps.manager", "CHIEF": "zju.manager"}
MINUTES = {"SSRF": 480, "SHMFF": 240, "NFPS": 240, "CHIEF": 480}
PURPOSES = {
    "SSRF": [
        "XAFS of single-atom Pt catalysts under operando CO oxidation",
        "Macromolecular crystallography of transporter mutants",
        "Grazing-incidence SAXS of perovskite films",
    ],
    "SHMFF": [
        "Quantum oscillations in a topological semimetal",
        "High-field magnetisation of a frustrated magnet",
        "Magnetotransport of 2D heterostructures",
    ],
    "NFPS": [
        "Cryo-EM screening of membrane transporter grids",
        "NMR titration of a protein–ligand complex",
        "Native mass spectrometry of protein assemblies",
    ],
    "CHIEF": ["Centrifuge model test of a reinforced slope", "Hypergravity consolidation of soft clay"],
}
# (username, facility, instrument, days ahead, local start hour, status)
UPCOMING = [
    ("wei.zhang", "SSRF", "BL14W1", 5, 8, Booking.Status.REQUESTED),
    ("lin.chen", "SSRF", "BL17U1", 9, 16, Booking.Status.REQUESTED),
    ("qing.wu", "SSRF", "BL09U", 11, 8, Booking.Status.REQUESTED),
    ("yu.sun", "SSRF", "BL02U1", 12, 8, Booking.Status.APPROVED),
    ("lin.chen", "SHMFF", "WM1", 7, 9, Booking.Status.REQUESTED),
    ("hao.zhou", "SHMFF", "SCM3", 4, 9, Booking.Status.APPROVED),
]


class DemoPrerequisiteMissing(Exception):
    pass


@dataclass(frozen=True)
class Planned:
    key: str
    username: str
    facility: str
    instrument: str
    start: dt.datetime
    minutes: int
    status: str
    purpose: str
    shared: bool
    late_minutes: int = 0
    early_minutes: int = 0


def past_months(today: dt.date, count: int = MONTHS_BACK) -> list[dt.date]:
    """First days of the last `count` full months, oldest first."""
    first = today.replace(day=1)
    months = []
    for _ in range(count):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


def _start_hour(facility: str, rng: random.Random) -> int:
    if facility == "SSRF":
        return rng.choice([0, 8, 16])  # beamtime comes in 8-hour shifts from midnight
    if facility == "CHIEF":
        return rng.choice([8, 12])
    return rng.choice([8, 9, 10, 13, 14])


def plan(today: dt.date) -> list[Planned]:
    """The whole history as data; the same `today` always gives the same plan."""
    rng = random.Random(SEED)
    tz = local_tz()
    out: list[Planned] = []
    for back, month in zip(range(MONTHS_BACK, 0, -1), past_months(today), strict=True):
        days = calendar.monthrange(month.year, month.month)[1]
        for username, places in PLACES.items():
            # Two completed visits every month; the third is cancelled, a no-show or completed in turn.
            third = [Booking.Status.CANCELLED, Booking.Status.NO_SHOW, Booking.Status.COMPLETED][back % 3]
            for slot, (facility, code) in enumerate(places):
                day = month.replace(day=1 + rng.randrange(days - 2))
                start = dt.datetime.combine(day, dt.time(_start_hour(facility, rng)), tz)
                out.append(
                    Planned(
                        key=f"demo-history:{username}:{back}:{slot}",
                        username=username,
                        facility=facility,
                        instrument=code,
                        start=start,
                        minutes=MINUTES[facility],
                        status=Booking.Status.COMPLETED if slot < 2 else third,
                        purpose=rng.choice(PURPOSES[facility]),
                        shared=username in SHARED and slot == back % 2,
                        late_minutes=rng.choice([0, 0, 10, 15, 30]),
                        early_minutes=rng.choice([0, 0, 15, 30]),
                    )
                )
    for username, facility, code, ahead, hour, status in UPCOMING:
        start = dt.datetime.combine(today + dt.timedelta(days=ahead), dt.time(hour), tz)
        out.append(
            Planned(
                key=f"demo-upcoming:{username}:{code}",
                username=username,
                facility=facility,
                instrument=code,
                start=start,
                minutes=MINUTES[facility],
                status=status,
                purpose=rng.choice(PURPOSES[facility]),
                shared=False,
            )
        )
    return out


def _qualify(users: dict[str, User], instruments: dict[tuple[str, str], Instrument]) -> None:
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    for username, places in PLACES.items():
        for place in places:
            instrument = instruments[place]
            if instrument.requires_qualification:
                Qualification.objects.get_or_create(
                    user=users[username], instrument=instrument, revoked_at=None, defaults={"granted_by": admin}
                )
    for username, facility, code, *_ in UPCOMING:
        if instruments[(facility, code)].requires_qualification:
            Qualification.objects.get_or_create(
                user=users[username],
                instrument=instruments[(facility, code)],
                revoked_at=None,
                defaults={"granted_by": admin},
            )


def _splits(item: Planned, users: dict[str, User], accounts: dict[str, FundingAccount]) -> list[dict] | None:
    if not item.shared:
        return None
    own = users[item.username].default_account
    if own is None:
        raise DemoPrerequisiteMissing(f"{item.username} has no default account; run seed_demo_people first.")
    other = accounts[SHARED[item.username]]
    return [{"account": own.pk, "percent": "60"}, {"account": other.pk, "percent": "40"}]


@transaction.atomic
def load_demo_history(now: dt.datetime | None = None) -> dict[str, int]:
    """Write what the plan holds and the database does not. Needs the catalog and the demo people."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    items = plan(today)
    users = {
        u.username: u for u in User.objects.filter(username__in={i.username for i in items} | set(MANAGERS.values()))
    }
    instruments = {
        (i.facility.code, i.code): i
        for i in Instrument.objects.select_related("facility").filter(facility__code__in=set(MANAGERS))
    }
    accounts = {a.code: a for a in FundingAccount.objects.filter(code__in=SHARED.values())}
    missing = sorted({i.username for i in items} - set(users)) or sorted(
        f"{f}/{c}" for f, c in {(i.facility, i.instrument) for i in items} if (f, c) not in instruments
    )
    if missing or len(accounts) < len(SHARED):
        raise DemoPrerequisiteMissing(
            "The demo history needs the catalog and the demo people first "
            f"(missing: {', '.join(missing) or 'shared accounts'}); "
            "run seed_catalog and seed_demo_people, or simply load_demo."
        )
    _qualify(users, instruments)
    created = skipped = 0
    for item in items:
        if import_exists(item.key):
            skipped += 1
            continue
        instrument = instruments[(item.facility, item.instrument)]
        # A planned slot someone already holds moves on a day at a time: the plan stays deterministic
        # and the history never overlaps what is there.
        for shift in range(14):
            start = item.start + dt.timedelta(days=shift)
            end = start + dt.timedelta(minutes=item.minutes)
            completed = item.status == Booking.Status.COMPLETED
            try:
                booking_import(
                    requester=users[item.username],
                    instrument=instrument,
                    start=start,
                    end=end,
                    status=item.status,
                    purpose=item.purpose,
                    splits=_splits(item, users, accounts),
                    actual_start=start + dt.timedelta(minutes=item.late_minutes) if completed else None,
                    actual_end=end - dt.timedelta(minutes=item.early_minutes) if completed else None,
                    now=now,
                    decided_by=users.get(MANAGERS[item.facility]),
                    import_key=item.key,
                )
            except Conflict:
                continue
            created += 1
            break
        else:
            skipped += 1
    return {"created": created, "skipped": skipped}
