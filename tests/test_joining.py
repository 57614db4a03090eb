"""Joining an institution without an invitation: domains name the institution, its join policy confirms
at once or leaves the request to its administrators, who alone decide it."""

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from facilities.joining import decide_join_request, request_membership
from facilities.models import InstitutionDomain, JoinPolicy, JoinRequest, Membership
from facilities.models.tenants import Role
from facilities.selectors import institution_for_domain, join_requests_for

from .factories.facilities import UserFactory, member

pytestmark = pytest.mark.django_db
Via, State = JoinRequest.Via, JoinRequest.State


@pytest.fixture
def domains(world):
    InstitutionDomain.objects.create(institution=world.ustc, domain="ustc.edu.cn")
    InstitutionDomain.objects.create(institution=world.zju, domain="ZJU.edu.cn")
    world.zju.join_policy = JoinPolicy.AUTOMATIC
    world.zju.save()
    admin = UserFactory(username="ua", email="ua@ustc.edu.cn")
    member(admin, world.ustc, Role.INSTITUTION_ADMIN)
    return admin


def test_a_domain_or_its_subdomain_names_the_institution(world, domains):
    assert InstitutionDomain.objects.get(institution=world.zju).domain == "zju.edu.cn"
    assert institution_for_domain("ustc.edu.cn") == world.ustc
    assert institution_for_domain("MAIL.ustc.edu.cn") == world.ustc
    assert institution_for_domain("li@mail.ustc.edu.cn") == world.ustc
    assert institution_for_domain("zju.edu.cn.") == world.zju
    assert institution_for_domain("edu.cn") is None
    assert institution_for_domain("notustc.edu.cn") is None
    assert institution_for_domain("ustc.edu.cn.evil.example") is None
    assert institution_for_domain("") is None


def test_the_longest_domain_wins(world, domains):
    InstitutionDomain.objects.create(institution=world.sari, domain="sari.ustc.edu.cn")
    assert institution_for_domain("x.sari.ustc.edu.cn") == world.sari
    assert institution_for_domain("x.ustc.edu.cn") == world.ustc


def test_confirm_policy_leaves_a_pending_request_and_mails_the_administrators(
    world, domains, django_capture_on_commit_callbacks
):
    person = UserFactory(username="new", email="new@ustc.edu.cn")
    with django_capture_on_commit_callbacks(execute=True):
        join_request = request_membership(user=person, institution=world.ustc, via=Via.EMAIL_DOMAIN)
    assert join_request.state == State.PENDING
    assert not Membership.objects.filter(user=person, institution=world.ustc).exists()
    assert [m.to for m in mail.outbox] == [["ua@ustc.edu.cn"]]
    assert "/institutions/USTC/people/" in mail.outbox[0].body
    # Asking again returns the same pending request and mails nobody.
    with django_capture_on_commit_callbacks(execute=True):
        again = request_membership(user=person, institution=world.ustc, via=Via.FEDERATED, affiliation="student")
    assert again.pk == join_request.pk
    assert len(mail.outbox) == 1
    entry = LogEntry.objects.get_for_object(join_request).get(action=LogEntry.Action.CREATE)
    assert entry.additional_data["institutions"] == [world.ustc.pk]


def test_automatic_policy_makes_a_researcher_at_once(world, domains, django_capture_on_commit_callbacks):
    person = UserFactory(username="new")
    with django_capture_on_commit_callbacks(execute=True):
        join_request = request_membership(user=person, institution=world.zju, via=Via.FEDERATED, affiliation="faculty")
    assert join_request.state == State.APPROVED and join_request.decided_at is not None
    assert join_request.affiliation == "faculty"
    assert Membership.objects.filter(user=person, institution=world.zju, role=Role.RESEARCHER).exists()
    assert mail.outbox == []


def test_an_existing_researcher_asks_for_nothing(world, domains):
    assert request_membership(user=world.researcher, institution=world.ustc, via=Via.EMAIL_DOMAIN) is None
    assert not JoinRequest.objects.exists()


def test_one_pending_request_per_person_and_institution(world, domains):
    person = UserFactory(username="new")
    JoinRequest.objects.create(user=person, institution=world.ustc, via=Via.REQUEST)
    with pytest.raises(IntegrityError), transaction.atomic():
        JoinRequest.objects.create(user=person, institution=world.ustc, via=Via.REQUEST)
    # Decided requests do not count.
    JoinRequest.objects.create(user=person, institution=world.zju, via=Via.REQUEST, state=State.DECLINED)
    JoinRequest.objects.create(user=person, institution=world.zju, via=Via.REQUEST, state=State.DECLINED)


def test_an_administrator_approves_and_the_person_becomes_a_researcher(
    world, domains, django_capture_on_commit_callbacks
):
    person = UserFactory(username="new", email="new@ustc.edu.cn")
    join_request = request_membership(user=person, institution=world.ustc, via=Via.EMAIL_DOMAIN)
    with django_capture_on_commit_callbacks(execute=True):
        decided = decide_join_request(actor=domains, join_request=join_request, approve=True)
    assert (decided.state, decided.decided_by) == (State.APPROVED, domains)
    assert Membership.objects.filter(user=person, institution=world.ustc, role=Role.RESEARCHER).exists()
    assert mail.outbox[-1].to == ["new@ustc.edu.cn"]
    entry = LogEntry.objects.get_for_object(join_request).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == domains
    with pytest.raises(ValidationError):
        decide_join_request(actor=domains, join_request=join_request, approve=False)
    assert JoinRequest.objects.get(pk=join_request.pk).state == State.APPROVED


def test_a_declined_request_makes_no_member_and_may_be_asked_again(world, domains):
    person = UserFactory(username="new")
    join_request = request_membership(user=person, institution=world.ustc, via=Via.REQUEST)
    decide_join_request(actor=domains, join_request=join_request, approve=False)
    assert JoinRequest.objects.get(pk=join_request.pk).state == State.DECLINED
    assert not Membership.objects.filter(user=person).exists()
    again = request_membership(user=person, institution=world.ustc, via=Via.REQUEST)
    assert again.pk != join_request.pk and again.state == State.PENDING


def test_only_the_institutions_administrators_decide(world, domains):
    zju_admin = UserFactory(username="za")
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    person = UserFactory(username="new")
    join_request = request_membership(user=person, institution=world.ustc, via=Via.REQUEST)
    for persona in (zju_admin, world.researcher, world.finance, person):
        with pytest.raises(PermissionDenied):
            decide_join_request(actor=persona, join_request=join_request, approve=True)
    assert JoinRequest.objects.get(pk=join_request.pk).state == State.PENDING
    decide_join_request(actor=world.admin, join_request=join_request, approve=True)  # a platform admin may


def test_pending_requests_are_listed_first(world, domains):
    first, second, third = (UserFactory(username=f"p{i}") for i in range(3))
    decided = request_membership(user=first, institution=world.ustc, via=Via.REQUEST)
    decide_join_request(actor=domains, join_request=decided, approve=False)
    a = request_membership(user=second, institution=world.ustc, via=Via.REQUEST)
    b = request_membership(user=third, institution=world.ustc, via=Via.REQUEST)
    request_membership(user=UserFactory(username="elsewhere"), institution=world.sari, via=Via.REQUEST)
    assert list(join_requests_for(world.ustc)) == [a, b, decided]


def test_a_deactivated_person_cannot_ask(world, domains):
    person = UserFactory(username="gone", is_active=False)
    with pytest.raises(ValidationError):
        request_membership(user=person, institution=world.ustc, via=Via.REQUEST)


def test_demo_gives_domains_and_policies(world):
    from facilities.models import Institution
    from facilities.seed import load_demo_joining

    Institution.objects.create(code="NJU", name="Nanjing University", kind="university")
    load_demo_joining()
    load_demo_joining()
    assert institution_for_domain("mail.ustc.edu.cn") == world.ustc
    assert institution_for_domain("nju.edu.cn").code == "NJU"
    world.ustc.refresh_from_db()
    world.zju.refresh_from_db()
    assert (world.ustc.join_policy, world.zju.join_policy) == (JoinPolicy.CONFIRM, JoinPolicy.AUTOMATIC)
    # A company awaits approval: it signs in, and may not book yet.
    from django.test import Client

    from booking.services.requests import requester_institution
    from facilities.companies import validate_credit_code
    from facilities.models import CompanyRegistration

    [company] = CompanyRegistration.objects.all()
    assert (company.user.username, company.state, company.province) == ("acme.lab", "pending", "jiangsu")
    validate_credit_code(company.credit_code)
    assert Client().post("/login/", {"username": "acme.lab", "password": "sanjiao-demo"}).status_code == 302
    with pytest.raises(PermissionDenied, match="awaits approval"):
        requester_institution(company.user)
