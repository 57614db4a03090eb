"""Local accounts (django-allauth): whose e-mail address still waits for verification, and what a verified
address means. A person who signs up with an institution's e-mail domain asks to join that institution
once the address is verified (docs/identity.md, "Local accounts")."""

import logging

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from .joining import request_membership
from .models import JoinRequest
from .selectors import institution_for_domain

log = logging.getLogger("sanjiao.accounts")


def email_verification_pending(user) -> bool:
    """True for a person who signed up here and has not yet verified any address. People made by an
    administrator or through an invitation have no address on record here and are not held back."""
    if not getattr(user, "pk", None):
        return False
    addresses = EmailAddress.objects.filter(user=user)
    return addresses.exists() and not addresses.filter(verified=True).exists()


def join_by_email_domain(*, user, email: str) -> JoinRequest | None:
    """The person verified `email`: if its domain is an institution's, they ask to join it."""
    institution = institution_for_domain(email)
    if institution is None:
        return None
    return request_membership(user=user, institution=institution, via=JoinRequest.Via.EMAIL_DOMAIN)


@receiver(email_confirmed)
def _on_email_confirmed(sender, request, email_address, **kwargs) -> None:
    join_request = join_by_email_domain(user=email_address.user, email=email_address.email)
    if join_request is not None:
        log.info(
            "Verified %s asks to join %s (%s)", email_address.user_id, join_request.institution.code, join_request.state
        )
