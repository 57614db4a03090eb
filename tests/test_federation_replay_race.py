"""The same SAML assertion posted by several browsers at the same moment signs in at most one of them:
real threads with their own database connections record its ID (the unique constraint decides, on
PostgreSQL when the suite runs there, under SQLite's IMMEDIATE transactions otherwise)."""

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from federation.models import SeenAssertion
from federation.services import record_assertion

THREADS = 6


@pytest.mark.django_db(transaction=True)
def test_one_assertion_is_accepted_once_when_posted_at_the_same_moment():
    barrier = threading.Barrier(THREADS)
    results: list[bool] = []
    errors: list[BaseException] = []
    until = timezone.now() + dt.timedelta(minutes=5)

    def run():
        try:
            barrier.wait(timeout=10)
            accepted = record_assertion(assertion_id="_a-same", issuer="https://idp.example", not_on_or_after=until)
            results.append(accepted)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(results) == [False] * (THREADS - 1) + [True]
    assert SeenAssertion.objects.count() == 1
