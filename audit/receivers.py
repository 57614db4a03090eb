"""Completes every audit entry as it is written: who (the signed-in user of the request, after the API
authenticated; nobody means "system"), through what (web page, admin, API, task, system), and under which
institutions it is filed. Keeps the trail append-only, and scrubs a person's details from it when a platform
administrator anonymises them."""

from auditlog.models import LogEntry
from celery.signals import task_postrun, task_prerun
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from common.audit import acting_user
from facilities.models import Membership, Qualification, User
from facilities.signals import person_anonymised

from .context import current_request, current_task, via
from .models import EntryInstitution

APPEND_ONLY = "Audit entries are append-only: they cannot be changed or deleted."


@receiver(pre_save, sender=LogEntry)
def _complete_entry(sender, instance: LogEntry, **kwargs) -> None:
    if instance.pk is not None:
        raise PermissionDenied(APPEND_ONLY)
    request = current_request.get()
    user = acting_user() or (getattr(request, "user", None) if request is not None else None)
    if instance.actor_id is None and isinstance(user, User) and user.is_authenticated:
        instance.actor = user
        instance.actor_email = user.email
    data = dict(instance.additional_data or {})
    data["via"] = via(request)
    if request is None and (task := current_task.get()):
        data["task"] = task
    instance.additional_data = data


@receiver(post_save, sender=LogEntry)
def _file_entry(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if not created:
        return
    ids = (instance.additional_data or {}).get("institutions") or []
    EntryInstitution.objects.bulk_create([EntryInstitution(entry=instance, institution_id=pk) for pk in ids])


@receiver(pre_delete, sender=LogEntry)
def _refuse_delete(sender, instance: LogEntry, **kwargs) -> None:
    raise PermissionDenied(APPEND_ONLY)


@receiver(pre_delete, sender=User)
def _keep_authors(sender, instance: User, **kwargs) -> None:
    """Deleting a person would leave their entries without an author; a departed person is anonymised."""
    if LogEntry.objects.filter(actor=instance).exists():
        raise PermissionDenied(
            _("%(username)s made changes recorded in the audit trail: anonymise them instead of deleting.")
            % {"username": instance.username}
        )


@receiver(task_prerun)
def _task_started(sender=None, task=None, **kwargs) -> None:
    current_task.set(getattr(task, "name", None) or "task")


@receiver(task_postrun)
def _task_ended(sender=None, task=None, **kwargs) -> None:
    current_task.set(None)


@receiver(person_anonymised)
def _scrub_person(sender, user: User, former_username: str, **kwargs) -> None:
    """Entries stay; what named the person now names the pseudonym. The recorded before → after values
    never held a name or an e-mail (see the registrations), so only these columns change, by UPDATE."""
    LogEntry.objects.filter(actor=user).update(actor_email=user.email, remote_addr=None, remote_port=None)
    types = ContentType.objects.get_for_models(User, Membership, Qualification)
    LogEntry.objects.filter(content_type=types[User], object_pk=str(user.pk)).update(object_repr=user.username)
    LogEntry.objects.filter(
        content_type__in=[types[Membership], types[Qualification]], object_repr__startswith=f"{former_username} "
    ).update(object_repr=Concat(Value(user.username), Substr("object_repr", len(former_username) + 1)))
