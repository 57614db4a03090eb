"""What federated sign-in scrubs when a platform administrator anonymises a departed person
(facilities.services.person_anonymise; docs/audit.md#anonymising-a-person): their linked identities go,
with what the identity providers released about them, so the opaque ids no longer lead to the account."""

from allauth.socialaccount.models import SocialAccount
from django.dispatch import receiver

from facilities.models import User
from facilities.signals import person_anonymised


@receiver(person_anonymised)
def unlink_identities(sender, user: User, **kwargs) -> None:
    SocialAccount.objects.filter(user=user).delete()
