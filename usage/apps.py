from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = _("Actual use")

    def ready(self) -> None:
        # Importing the tasks registers them under the names beat starts them by (config/settings.py).
        from . import tasks  # noqa: F401
