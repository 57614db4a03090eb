"""Per-person notification preferences."""

from facilities.models import User

from ..models import NotificationPreference


def preferences_of(user: User) -> NotificationPreference:
    """The user's preferences; the defaults (unsaved) when they never chose."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def set_preferences(*, user: User, manager_digest: bool | None = None) -> NotificationPreference:
    prefs, _ = NotificationPreference.objects.get_or_create(user=user)
    if manager_digest is not None and prefs.manager_digest != manager_digest:
        prefs.manager_digest = manager_digest
        prefs.save(update_fields=["manager_digest"])
    return prefs


def digest_user_ids(user_ids) -> set[int]:
    return set(
        NotificationPreference.objects.filter(user_id__in=list(user_ids), manager_digest=True).values_list(
            "user_id", flat=True
        )
    )
