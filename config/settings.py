"""Sanjiao settings. Everything that differs between machines comes from the environment (see README)."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from .env import (
    env_bool,
    env_file,
    env_float,
    env_header_pair,
    env_int,
    env_list,
    env_source,
    env_str,
    env_url,
    serving_url,
)
from .secret import secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SANJIAO_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# No public fallback: SECRET_KEY from the environment, else the random key `make run` and `make test` keep in
# the var directory (config/secret.py); with neither, the process stops and says how to set one.
SECRET_KEY = secret_key(VAR_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "auditlog",
    "axes",
    "outbox",
    "facilities",
    "booking",
    "usage",
    "billing",
    "audit",
    "proposals",
    "reports",
    "frontend",
    # Accounts (docs/identity.md): local sign-up with a verified e-mail address, and federated sign-in.
    # After frontend, whose templates of the sign-up pages take precedence.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
]

MIDDLEWARE = [
    # First: a body above the limit is refused before anything (sessions, CSRF, DRF) would read it.
    "common.limits.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header of every response (django-csp; CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who made a change, for the audit trail (django-auditlog); API requests are read after DRF authenticates.
    "audit.context.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # django-allauth's account middleware (its sign-up, e-mail verification and federated flows).
    "allauth.account.middleware.AccountMiddleware",
    # Last: turns a sign-in refused for too many failures into a 429 page or JSON (facilities/signin.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- HTTPS and browser security (docs/security.md, "Deployment settings") ---------------------------
# HTTPS=true is the one switch for a deployment behind an HTTPS proxy: cookies only over HTTPS, HSTS, a
# redirect of plain HTTP, and the proxy's X-Forwarded-Proto trusted to say a request came over HTTPS.
# Each has its own variable too, under Django's name, for a deployment that needs one of them otherwise.
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = env_header_pair("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto,https" if HTTPS else "")
# The calendar feeds and the health of the proxy are fetched over plain HTTP by nobody: no exemptions.
SECURE_REDIRECT_EXEMPT: list[str] = []
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere (templates carry none; JS and CSS are static files), so the policy
# names only this origin. WebSockets to the same host match 'self'. The API docs page loads Swagger UI
# from drf-spectacular-sidecar's static files and its start-up script from the split view (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "sanjiao.sqlite3"),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so every booking write is serialized
    # and the check-then-insert in the booking service cannot interleave with another writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file, not shared memory: the race tests need real, separately locking connections.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))
elif env_bool("DB_PREPARED_STATEMENTS", False):
    # Server-side parameters let PostgreSQL keep a statement's plan per connection after a few runs, so
    # the booking path's repeated statements skip planning. Worth it only with persistent connections
    # (DB_CONN_MAX_AGE), i.e. under WSGI workers; not behind a transaction-pooling proxy.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": env_int("DB_PREPARE_THRESHOLD", 5)}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "facilities.User"

# --- Redis, channels, Celery --------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss"))
if REDIS_URL:
    # The pub/sub layer delivers group messages through Redis PUBLISH: nothing queues up per client, so
    # a slow client never makes the layer drop messages meant for others (see README, "Live updates").
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    # No broker on the embedded default: tasks run in-process, still only after the transaction commits.
    CELERY_TASK_ALWAYS_EAGER = True
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# --- Auth -----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The guard first: it refuses every sign-in (right password or not) of a locked-out account or address.
AUTHENTICATION_BACKENDS = [
    "facilities.signin.SignInGuardBackend",
    "django.contrib.auth.backends.ModelBackend",
    # django-allauth: sign-in by username or e-mail address on its pages, and federated sign-in.
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Sign-in defences (django-axes; docs/security.md). Failures are counted per username and, separately,
# per client address; either reaching the limit locks it for the cool-off, which doubles with every
# further limit's worth of failures (facilities/signin.py).
SIGNIN_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
SIGNIN_COOLOFF_MINUTES = env_int("SIGNIN_COOLOFF_MINUTES", 15)
SIGNIN_COOLOFF_MAX_HOURS = env_int("SIGNIN_COOLOFF_MAX_HOURS", 24)
# Behind a proxy: the request header (e.g. X-Real-IP, X-Forwarded-For) the proxy overwrites with the
# client address. Empty: the connection's own address. Never set it without a proxy that sets the header.
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER", "")
AXES_HANDLER = "facilities.signin.SignInHandler"
AXES_FAILURE_LIMIT = SIGNIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = "facilities.signin.cool_off"
AXES_CLIENT_IP_CALLABLE = "common.client.client_ip"
AXES_LOCKOUT_CALLABLE = "facilities.signin.lockout_response"
# Not reset on success: a sign-in from an address would otherwise wipe the failures it made on others.
AXES_RESET_ON_SUCCESS = False
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# django-allauth (docs/identity.md): people sign up with a username and an e-mail address that they must
# verify before they may sign in; /login/ stays the sign-in page, /password/reset/ the one reset flow.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Sanjiao: "
ACCOUNT_LOGOUT_REDIRECT_URL = LOGOUT_REDIRECT_URL
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SIGNUP_FORM_CLASS = "frontend.signup.SignupExtraForm"
ACCOUNT_ADAPTER = "frontend.signup.AccountAdapter"
# Verifying the address in the browser that signed up signs the person in; elsewhere they sign in at /login/.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_CONFIRMATION_ANONYMOUS_REDIRECT_URL = LOGIN_URL
ACCOUNT_SIGNUP_REDIRECT_URL = "/welcome/"

# API tokens (docs/security.md): how long a new one lasts unless its owner says, the longest allowed,
# and how many live ones a person may hold (a sign-in token beyond that replaces the oldest sign-in token).
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)
API_TOKEN_MAX_ACTIVE = env_int("API_TOKEN_MAX_ACTIVE", 20)

# --- I18N / time ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static -------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# One process serves its own static files on the embedded default; behind a proxy, let the proxy do it.
SERVE_STATIC = env_bool("SERVE_STATIC", True)

# --- Request limits -------------------------------------------------------------------------------
# The largest request body accepted, in bytes: answered with 413 before it is read, whichever server
# runs (common/limits.py); the API's JSON, the pages' forms and the admin all fit well within it. The
# same figure caps a WebSocket frame under `make run`'s server (config/serve.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024)

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Hashed, named, expiring tokens behind DRF's `Authorization: Token <key>` (facilities/authentication.py).
        "facilities.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PARSER_CLASSES": [
        "common.parsing.JSONParser",  # refuses too deeply nested JSON with a 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sanjiao API",
    "DESCRIPTION": "Shared research-infrastructure booking for the Yangtze River Delta.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Names for choice sets that share a field name with another, so the schema builds without warnings
    # (`manage.py check --deploy` runs the schema's checks too).
    "ENUM_NAME_OVERRIDES": {
        "FacilityCategoryEnum": "facilities.models.catalog.FacilityCategory",
        "FacilityStatusEnum": "facilities.models.catalog.Facility.Status",
        "FapiaoKindEnum": "billing.models.fapiao.FapiaoKind.choices",
        "FundingAccountKindEnum": "facilities.models.tenants.FundingAccount.Kind",
        "MembershipRoleEnum": "facilities.models.tenants.Role",
    },
}

# --- Email ----------------------------------------------------------------------------------------
# The embedded default keeps mail in the outbox (admin → Outbox); production sets the SMTP backend.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "outbox.backends.OutboxBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Sanjiao <noreply@sanjiao.example>")

# --- Stripe ---------------------------------------------------------------------------------------
STRIPE_API_KEY = env_str("STRIPE_API_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env_url("STRIPE_API_BASE", ("http", "https"))

# --- Platform -------------------------------------------------------------------------------------
# Where the site is served, for links in mail and calendar feeds. Unset, it is the address `make run`
# (config/serve.py) serves on — HOST and PORT, which the server sets from its --host/--port — so
# `make run PORT=8200` links to :8200. A wildcard HOST (0.0.0.0, ::) is no address to link to: 127.0.0.1.
SITE_URL = env_str("SITE_URL", "") or serving_url(env_str("HOST", "127.0.0.1"), env_int("PORT", 8000))

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes says at INFO what it does on every sign-in; failures and lockouts stay at WARNING.
    "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run in the web process: a "Task … succeeded" line per mail would flood its console. Failures
    # are still logged at ERROR.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}

# `manage.py load_demo` runs these, in order; each app owns its own step.
SANJIAO_DEMO_COMMANDS = [
    "seed_catalog",
    "seed_demo_people",
    "seed_demo_history",
    "seed_demo_billing",
    "seed_demo_receivables",
    "seed_demo_usage",
    "seed_demo_proposals",
    "seed_demo_groups",
    "seed_demo_joining",
]

# --- booking engine (rules, series, waitlist, bundles) ---------------------------------------------
# How long a waitlisted user may take to accept a slot that came free before it passes to the next.
WAITLIST_OFFER_MINUTES = env_int("WAITLIST_OFFER_MINUTES", 120)

# --- beamtime by proposal (docs/proposals.md) ------------------------------------------------------
PROPOSALS_MAX_FILE_BYTES = env_int("PROPOSALS_MAX_FILE_BYTES", 10 * 1024 * 1024)
PROPOSALS_SAFETY_DAYS = env_int("PROPOSALS_SAFETY_DAYS", 7)
PROPOSALS_SAFETY_REMINDER_DAYS = env_int("PROPOSALS_SAFETY_REMINDER_DAYS", 7)
PROPOSALS_LATE_CANCEL_DAYS = env_int("PROPOSALS_LATE_CANCEL_DAYS", 14)

# --- live updates (WebSockets) -------------------------------------------------------------------
# Limits per /ws/ connection; a client that breaks one gets an error message in words, not a closed socket.
LIVE_MAX_INSTRUMENTS = env_int("LIVE_MAX_INSTRUMENTS", 50)
LIVE_MAX_WINDOW_DAYS = env_int("LIVE_MAX_WINDOW_DAYS", 62)
LIVE_MAX_MESSAGE_BYTES = env_int("LIVE_MAX_MESSAGE_BYTES", 8192)
LIVE_MAX_MESSAGES_PER_SECOND = env_int("LIVE_MAX_MESSAGES_PER_SECOND", 20)
# Each ASGI process reads a changed instrument's busy list once, over a wide window (this many days back,
# up to the instrument's horizon ahead, at most LIVE_PUBLISH_MAX_DAYS); subscribers inside it cost no query.
LIVE_PUBLISH_PAST_DAYS = env_int("LIVE_PUBLISH_PAST_DAYS", 7)
LIVE_PUBLISH_MAX_DAYS = env_int("LIVE_PUBLISH_MAX_DAYS", 400)
# How often each ASGI process compares its watched instruments' versions with the database (one indexed
# read). On the in-memory layer that is how changes made by other processes (beat, a shell) reach its
# sockets, hence well under a second; with Redis every process hears every change and the check only
# repairs lost pub/sub messages (docs/decisions/0002-live-updates-across-processes.md).
LIVE_RESYNC_SECONDS = env_float("LIVE_RESYNC_SECONDS", 10.0 if REDIS_URL else 0.5)

# --- billing and Stripe --------------------------------------------------------------------------
# Payment term printed on Stripe invoices (days after sending).
BILLING_DAYS_UNTIL_DUE = env_int("BILLING_DAYS_UNTIL_DUE", 30)
# An invoice run renews its lease (a heartbeat) while it works; one silent for this long has lost its process
# and is marked failed, for finance to resume (billing/services/runs.py, docs/security.md).
INVOICE_RUN_LEASE_SECONDS = env_int("INVOICE_RUN_LEASE_SECONDS", 300)

# --- receivables: fapiao, bank transfers ---------------------------------------------------------
# Uploaded fapiao files live here (never served directly: a permission-checked view hands them out).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# The largest fapiao file or bank statement accepted, in bytes; only the upload endpoints take bodies
# this large (common/limits.py), every other request keeps DATA_UPLOAD_MAX_MEMORY_SIZE.
RECEIVABLES_UPLOAD_MAX_BYTES = env_int("RECEIVABLES_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
UPLOAD_LIMITS = [
    (r"^/api/v1/bank-statements/$", RECEIVABLES_UPLOAD_MAX_BYTES),
    (r"^/api/v1/invoices/\d+/fapiao/$", RECEIVABLES_UPLOAD_MAX_BYTES),
    (r"^/finance/receivables/statements/$", RECEIVABLES_UPLOAD_MAX_BYTES),
    (r"^/finance/invoices/\d+/fapiao/$", RECEIVABLES_UPLOAD_MAX_BYTES),
    # Files attached to proposals (API and the proposal form), with room for the form around them.
    (r"^/(api/v1/)?proposals/\d+/files/$", PROPOSALS_MAX_FILE_BYTES + 64 * 1024),
    (r"^/proposals/new/$", 10 * PROPOSALS_MAX_FILE_BYTES + 64 * 1024),
]
# Dotted path of a fapiao service provider's adapter (billing/fapiao_providers.py); empty: fapiao are
# recorded by hand from the tax system's files.
FAPIAO_PROVIDER = env_str("FAPIAO_PROVIDER", "")
# Goods-and-services tax classification code and item name of the batch-import file's detail rows.
FAPIAO_ITEM_TAX_CODE = env_str("FAPIAO_ITEM_TAX_CODE", "3040101000000000000")
FAPIAO_ITEM_NAME = env_str("FAPIAO_ITEM_NAME", "科研仪器共享使用服务")
FAPIAO_TAX_RATE = env_str("FAPIAO_TAX_RATE", "0.06")
if FAPIAO_TAX_RATE not in ("0", "0.01", "0.03", "0.05", "0.06", "0.09", "0.13"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"FAPIAO_TAX_RATE={FAPIAO_TAX_RATE!r} is not one of 0, 0.01, 0.03, 0.05, 0.06, 0.09, 0.13."
    )
# A JSON file of a deployment's own bank statement layouts, added to billing/data/bank_formats.json.
BANK_FORMATS_FILE = env_str("BANK_FORMATS_FILE", "")

# --- calendar feeds, notifications, Celery beat ---------------------------------------------------
# Where mails and calendar events link a booking to: pages of the web front end, wired here so the
# booking app knows no page. {id} is the booking's id.
BOOKING_PAGE_URLS = {"requester": "/me/#booking-{id}", "manager": "/console/#booking-{id}"}
# Approved bookings are completed by the system this long after they end, leaving managers time to
# record a no-show or the actual times first.
AUTO_COMPLETE_AFTER_MINUTES = env_int("AUTO_COMPLETE_AFTER_MINUTES", 24 * 60)
# An Idempotency-Key's first answer is replayed for at least this long, then forgotten.
IDEMPOTENCY_KEEP_HOURS = env_int("IDEMPOTENCY_KEEP_HOURS", 24)
from celery.schedules import crontab  # noqa: E402

# A holder is mailed this many days before their qualification on an instrument lapses.
QUALIFICATION_REMINDER_DAYS = env_int("QUALIFICATION_REMINDER_DAYS", 14)
FEED_PAST_DAYS = env_int("FEED_PAST_DAYS", 90)  # feeds show bookings that ended up to this long ago
# An instrument's public feed: from this many days back to the end of its booking horizon.
FEED_INSTRUMENT_PAST_DAYS = env_int("FEED_INSTRUMENT_PAST_DAYS", 30)
FEED_KEEP_CANCELLED_DAYS = env_int("FEED_KEEP_CANCELLED_DAYS", 30)  # cancelled ones stay struck out this long
FEED_MAX_EVENTS = env_int("FEED_MAX_EVENTS", 5000)
FEED_CACHE_SECONDS = env_int("FEED_CACHE_SECONDS", 3600)  # a built feed is reused until its bookings change
REMINDER_HOURS_BEFORE = env_int("REMINDER_HOURS_BEFORE", 24)
MANAGER_DIGEST_HOUR = env_int("MANAGER_DIGEST_HOUR", 8)  # local hour of the daily digest of new requests
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 5)
NOTIFICATION_STALE_CLAIM_MINUTES = env_int("NOTIFICATION_STALE_CLAIM_MINUTES", 15)
# Lets several deployments (or a test worker) share one Redis without taking each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Every periodic job works from state and time ("everything due by now"), never "this minute", so a
# missed run is made up by the next one and a doubled run changes nothing.
CELERY_BEAT_SCHEDULE = {
    "remind-safety-forms": {"task": "proposals.tasks.remind_safety_forms", "schedule": crontab(minute=0, hour=9)},
    "expire-unapproved-requests": {"task": "booking.tasks.expire_stale_requests", "schedule": crontab(minute="*/5")},
    "complete-ended-bookings": {"task": "booking.tasks.complete_ended_bookings", "schedule": crontab(minute="*/15")},
    "send-reminders": {"task": "booking.tasks.send_reminders", "schedule": crontab(minute="*/15")},
    "send-manager-digests": {
        "task": "booking.tasks.send_manager_digests",
        "schedule": crontab(hour=MANAGER_DIGEST_HOUR, minute=0),
    },
    "process-waitlist": {"task": "booking.tasks.process_waitlist", "schedule": crontab(minute="*/5")},
    "retry-failed-notifications": {
        "task": "booking.tasks.retry_failed_notifications",
        "schedule": crontab(minute="*/10"),
    },
    "remind-lapsing-qualifications": {
        "task": "facilities.tasks.remind_lapsing_qualifications",
        "schedule": crontab(minute=23),
    },
    "expire-idempotency-records": {"task": "booking.tasks.expire_idempotency_records", "schedule": crontab(minute=17)},
    "close-silent-usage": {"task": "usage.tasks.close_silent_sessions", "schedule": crontab(minute="*")},
    "release-no-shows": {"task": "usage.tasks.release_no_shows", "schedule": crontab(minute="*")},
    # Last month's invoices on the 1st; the run is idempotent, so repeating it on the next days only
    # makes up for a beat that was down on the 1st.
    "fail-stale-invoice-runs": {"task": "billing.fail_stale_invoice_runs", "schedule": crontab(minute="*/5")},
    "monthly-invoices": {
        "task": "billing.run_monthly_invoices",
        "schedule": crontab(day_of_month="1-3", hour=2, minute=30),
    },
}

# --- actual use (docs/usage.md) ------------------------------------------------------------------
# A signed agent request is accepted this many seconds either side of the server's clock.
USAGE_AGENT_MAX_SKEW_SECONDS = env_int("USAGE_AGENT_MAX_SKEW_SECONDS", 300)
# Events an agent queued while offline are accepted up to this many days late.
USAGE_AGENT_MAX_EVENT_AGE_DAYS = env_int("USAGE_AGENT_MAX_EVENT_AGE_DAYS", 7)

# --- reports ---------------------------------------------------------------------------------------

# --- frontend --------------------------------------------------------------------------------------
# The page header shows each person the consoles their roles open.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("frontend.context.nav")

# --- federated sign-in: SAML 2.0 through CARSI, OpenID Connect (docs/identity.md, decision 0027) ----------
# django-allauth's SAML and OpenID Connect providers; the SAML one through federation/saml.py, which gives
# the whole federation one entity ID, one assertion consumer service and a replay guard.
INSTALLED_APPS += [
    "allauth.socialaccount.providers.saml",
    "allauth.socialaccount.providers.openid_connect",
    "federation",
]
SOCIALACCOUNT_ADAPTER = "federation.adapter.FederatedSignInAdapter"
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {
    "saml": {"provider_class": "federation.saml.FederatedSAMLProvider"},
}
# A federated sign-in makes the person at once (no sign-up form), under the rules in federation/adapter.py.
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
# The federation's metadata (CARSI's aggregate): an https:// URL or an absolute file path; read by the
# refresh task every FEDERATION_METADATA_REFRESH_HOURS. Each identity provider in it becomes choosable.
FEDERATION_METADATA = env_source("FEDERATION_METADATA")
# The federation's signing certificate (PEM): when set, metadata whose signature does not verify is refused.
FEDERATION_METADATA_CERT = env_file("FEDERATION_METADATA_CERT")
FEDERATION_METADATA_REFRESH_HOURS = env_int("FEDERATION_METADATA_REFRESH_HOURS", 6)
if not 1 <= FEDERATION_METADATA_REFRESH_HOURS <= 24:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("FEDERATION_METADATA_REFRESH_HOURS must be between 1 and 24.")
# This service provider's entity ID as registered with the federation; by default its metadata URL.
SAML_SP_ENTITY_ID = env_str("SAML_SP_ENTITY_ID", "") or f"{SITE_URL}/federation/saml/metadata/"
# The service provider's certificate and key (PEM files) for its metadata, both or neither.
SAML_SP_CERT_FILE = env_file("SAML_SP_CERT_FILE")
SAML_SP_KEY_FILE = env_file("SAML_SP_KEY_FILE")
if bool(SAML_SP_CERT_FILE) != bool(SAML_SP_KEY_FILE):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set both SAML_SP_CERT_FILE and SAML_SP_KEY_FILE, or neither.")
# A SAML identity provider and an OpenID Connect provider served by this process under /test-idp/, to try
# federated sign-in without a federation (manage.py configure_test_idp). Never in production: refused
# by `check --deploy`.
FEDERATION_TEST_IDP = env_bool("FEDERATION_TEST_IDP", False)
CELERY_BEAT_SCHEDULE["refresh-federation-metadata"] = {
    "task": "federation.tasks.refresh_federation_metadata",
    "schedule": crontab(minute=41, hour=f"*/{FEDERATION_METADATA_REFRESH_HOURS}"),
}
