"""WSGI entry point: gunicorn serves every ordinary HTTP request here in production (the Procfile's `web`)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from .http import wsgi_handler  # noqa: E402

application = wsgi_handler()

# This process serves no ASGI: live updates are published through one event loop of its own.
from booking.live.publish import publish_from_own_loop  # noqa: E402  (needs Django set up first)

publish_from_own_loop()
