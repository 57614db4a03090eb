"""Make the test identity providers (FEDERATION_TEST_IDP=true, /test-idp/) choosable: the SAML one as a
federation of one, the OpenID Connect one as a provider whose people's institution follows their verified
e-mail domain. Running it again changes nothing. docs/identity.md, "Trying federated sign-in"."""

from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from federation import services, testidp
from federation.testidp_views import OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, keys

OIDC_PROVIDER_ID = "test-oidc"


class Command(BaseCommand):
    help = "Configure the test SAML identity provider and OpenID Connect provider served under /test-idp/."

    @transaction.atomic
    def handle(self, *args, **options):
        if not settings.FEDERATION_TEST_IDP:
            raise CommandError("Set FEDERATION_TEST_IDP=true (here and for the server) to use the test providers.")
        base = settings.SITE_URL.rstrip("/")
        metadata = testidp.federation_metadata(
            entity_id=f"{base}/test-idp/saml/", sso_url=f"{base}/test-idp/saml/sso/", keys=keys()
        )
        counts = services.sync_identity_providers(providers=services.parse_metadata(metadata))
        app, created = SocialApp.objects.update_or_create(
            provider="openid_connect",
            provider_id=OIDC_PROVIDER_ID,
            defaults={
                "name": "Test OpenID Connect provider",
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": f"{base}/test-idp/oidc",
                    "display_names": {
                        "en": "Test OpenID Connect provider",
                        "zh-hans": "测试 OpenID Connect 身份提供者",
                    },
                    "email_domains": ["ustc.edu.cn", "zju.edu.cn"],
                },
            },
        )
        if created:
            services.on_site(app)
        self.stdout.write(f"SAML: {counts}; OpenID Connect: {'added' if created else 'updated'} ({base}/test-idp/)")
