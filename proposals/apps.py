from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = _("Beamtime by proposal")

    def ready(self) -> None:
        from booking.signals import validate_approval

        from . import receivers

        validate_approval.connect(receivers.on_validate_approval, dispatch_uid="proposals.validate_approval")
