"""WSGI entry point: ordinary HTTP in production is served here (it is about six times cheaper per
request than the ASGI path on our machines); only /ws/ needs the ASGI application."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# This process serves no ASGI: live updates are published through one event loop of its own.
from booking.live.publish import publish_from_own_loop  # noqa: E402  (needs Django set up first)

publish_from_own_loop()
