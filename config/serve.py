"""`make run`'s server: HTTP and WebSockets of config.asgi on one port, with uvicorn.

    python -m config.serve [--host 127.0.0.1] [--port 8000]      (HOST and PORT from the environment)

uvicorn reads a request body only as fast as the application asks for it (it stops reading the socket
once 64 KB wait), so a body the application refuses unread never fills the server's memory. daphne,
the other ASGI server here, receives a whole body before the application sees the request, then holds
all of it in memory: it serves only /ws/ in production, behind a proxy that limits bodies
(docs/deploy.md, docs/decisions/0001-serving.md)."""

import argparse
import os

import uvicorn

from config.env import env_int, env_str


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve Sanjiao's HTTP and WebSockets on one port.")
    parser.add_argument("--host", default=env_str("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env_int("PORT", 8000))
    args = parser.parse_args()

    # The settings derive SITE_URL (links in mail and calendar feeds) from where this server listens,
    # unless SITE_URL is set: so `make run PORT=8200` links to :8200.
    os.environ["HOST"], os.environ["PORT"] = args.host, str(args.port)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    print(f"Links in mail and calendar feeds start at {settings.SITE_URL} (SITE_URL)", flush=True)

    uvicorn.run(
        "config.asgi:application",
        host=args.host,
        port=args.port,
        http="httptools",
        ws="websockets-sansio",
        # One limit for what a client sends: a larger frame closes the socket (1009) unread.
        ws_max_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        lifespan="off",  # the application keeps no state to set up or tear down
        proxy_headers=False,  # no proxy in front of `make run`
        # Open WebSockets would otherwise hold a stop (Ctrl-C) forever.
        timeout_graceful_shutdown=5,
        log_level=env_str("LOG_LEVEL", "INFO").lower(),
    )


if __name__ == "__main__":
    main()
