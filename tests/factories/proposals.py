import datetime as dt

from django.utils import timezone

from facilities.models.tenants import Role
from proposals.models import Call, CallInstrument

from .facilities import InstitutionFactory, UserFactory, member


def make_call(world, *, shifts: int = 12, rapid: int = 3, code: str = "2027-1", **extra) -> Call:
    now = timezone.now()
    today = timezone.localdate()
    call = Call.objects.create(
        facility=world.facility,
        code=code,
        title=f"Call {code}",
        title_zh=f"{code} 期课题申请",
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=10),
        cycle_start=today + dt.timedelta(days=20),
        cycle_end=today + dt.timedelta(days=140),
        **extra,
    )
    CallInstrument.objects.create(call=call, instrument=world.instrument, shifts_available=shifts, rapid_shifts=rapid)
    return call


def office(world):
    user = UserFactory(username="office")
    member(user, world.sari, Role.USER_OFFICE, [world.facility])
    return user


def reviewer(username: str, institution_code: str):
    user = UserFactory(username=username)
    member(user, InstitutionFactory(code=institution_code), Role.REVIEWER)
    return user
