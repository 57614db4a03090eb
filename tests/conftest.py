"""Shared fixtures: a small world of personas around one facility.

- researcher: USTC, holds a USTC grant (their default account);
- manager:   SARI, manages the facility FAC (hosted by SARI);
- finance:   USTC finance;
- outsider:  a ZJU researcher with a ZJU grant, unrelated to the others' bookings;
- admin:     platform administrator.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from facilities.models import Facility, FundingAccount, Institution, Instrument, User
from facilities.models.tenants import Role

from .factories.facilities import (
    FacilityFactory,
    FundingAccountFactory,
    InstitutionFactory,
    InstrumentFactory,
    UserFactory,
    member,
)


@dataclass
class World:
    ustc: Institution
    sari: Institution
    zju: Institution
    facility: Facility
    instrument: Instrument
    researcher: User
    manager: User
    finance: User
    outsider: User
    admin: User
    researcher_account: FundingAccount
    outsider_account: FundingAccount

    def client(self, user: User | None) -> APIClient:
        c = APIClient()
        if user is not None:
            c.force_authenticate(user)
        return c


@pytest.fixture
def world(db) -> World:
    ustc = InstitutionFactory(code="USTC", name="University of Science and Technology of China")
    sari = InstitutionFactory(
        code="SARI", name="Shanghai Advanced Research Institute", kind="institute", province="shanghai", city="Shanghai"
    )
    zju = InstitutionFactory(code="ZJU", name="Zhejiang University", province="zhejiang", city="Hangzhou")
    facility = FacilityFactory(code="FAC", host=sari)
    instrument = InstrumentFactory(facility=facility, code="BL1")
    researcher = UserFactory(username="res")
    manager = UserFactory(username="mgr")
    finance = UserFactory(username="fin")
    outsider = UserFactory(username="out")
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    member(researcher, ustc, Role.RESEARCHER)
    member(manager, sari, Role.FACILITY_MANAGER, [facility])
    member(finance, ustc, Role.FINANCE)
    member(outsider, zju, Role.RESEARCHER)
    researcher_account = FundingAccountFactory(code="USTC-G1", institution=ustc, principal_investigator=researcher)
    outsider_account = FundingAccountFactory(code="ZJU-G1", institution=zju, principal_investigator=outsider)
    researcher.default_account = researcher_account
    researcher.save()
    outsider.default_account = outsider_account
    outsider.save()
    return World(
        ustc,
        sari,
        zju,
        facility,
        instrument,
        researcher,
        manager,
        finance,
        outsider,
        admin,
        researcher_account,
        outsider_account,
    )


@pytest.fixture
def tomorrow_9() -> dt.datetime:
    """09:00 tomorrow, Asia/Shanghai: a start every default rule accepts."""
    local = timezone.localtime() + dt.timedelta(days=1)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def _english_by_default():
    # A request in Chinese (or a test that activates it) leaves the thread's language active; each test
    # starts, and leaves, in the default language, so no message depends on the test before it.
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's cost is the point in production and pure waste in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    # Each test gets an empty in-process cache, even when REDIS_URL is set: ids restart when a test's
    # transaction rolls back (and with every new test database), so an answer cached under an id and a
    # version could otherwise leak from one test, or one run, into the next.
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tasks_in_process():
    """Run Celery tasks in-process even when the suite has a broker (REDIS_URL): modules that check
    what tasks do use it (`pytestmark = pytest.mark.usefixtures("tasks_in_process")`)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run on-commit work (signals, enqueued tasks) as a real commit would, including work it adds."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
