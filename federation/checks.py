"""`check --deploy` refuses the test identity provider: it signs in anyone as anyone."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def refuse_test_idp(app_configs, **kwargs):
    if getattr(settings, "FEDERATION_TEST_IDP", False):
        return [
            Error(
                "FEDERATION_TEST_IDP is on: /test-idp/ signs anyone in as anyone.",
                hint="Unset FEDERATION_TEST_IDP in production.",
                id="federation.E001",
            )
        ]
    return []
