"""Settings for fusion-site: every knob comes from the environment (django-environ).

A `.env` file beside manage.py is read when present (`make run` writes one on first run), unless
FUSION_READ_DOTENV=false (the test-suite sets it: a developer's `.env` must not change what tests see).
Defaults are safe for production except where DEBUG is on, which unlocks development conveniences only.

Read by section: Django core; then each app's own (accounts, webhooks, adoption, console, telemetry); then
the Ontraport client, production hardening and logging. Each section names the doc that explains it, and
each comment sits above the settings it describes. Choices, durations and EMAIL_URL are read and checked by
`fusion_site.environment`: a wrong value stops the site here, with the variable, the value given and what
is accepted in the message.
"""

import logging
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from fusion_site.environment import choice, duration, env, mailers_from_email_url

BASE_DIR = Path(__file__).resolve().parent.parent

# Django's generic classes (ModelAdmin[User], Paginator[...]) subscriptable at run time, as the type checker
# (mypy --strict, django-stubs) wants them written.
django_stubs_ext.monkeypatch()

if env.bool("FUSION_READ_DOTENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


# === Django core: hosts, apps, database, users, static files, tasks, e-mail, cache (docs/deployment.md) =====

DEBUG: bool = env.bool("DEBUG", default=False)

# Development may run without them; production must say what its secret and its hosts are.
if DEBUG:
    SECRET_KEY: str = env.str("SECRET_KEY", default="django-insecure-development-only-key-do-not-deploy")
    ALLOWED_HOSTS: list[str] = env.list(
        "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"]
    )
else:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# The site's public address: links in e-mails (welcome, set a password) and the webhook URLs the admin's
# Ontraport page and `manage.py webhook_urls` print for Ontraport to call.
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # the user search's trigram index (accounts.User.Meta); harmless on SQLite
    "django_tasks_db",
    "webhooks.telemetry",  # worker heartbeats and shared counters
    "accounts",
    "webhooks",
    "webhooks.adoption",  # import, resync and the sweep
    "webhooks.console",  # the admin's Ontraport page
]

MIDDLEWARE = [
    # Outermost: under DEBUG, masks secrets in Django's error pages (inactive when DEBUG is off).
    "fusion_site.debug_pages.DebugPagesMaskedMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's) served by the web process itself, compressed and cached (WhiteNoise).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # First among ours: a webhook on any path answers before sessions, CSRF and auth run.
    "webhooks.middleware.WebhookOnAnyPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fusion_site.urls"
WSGI_APPLICATION = "fusion_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "fusion_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- The database: SQLite embedded, PostgreSQL at scale (docs/deployment.md, "SQLite") ---------------------
DATABASES: dict[str, dict[str, Any]] = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two writers queue
    # on the busy timeout instead of failing with "database is locked" half-way through a transaction.
    # synchronous=NORMAL: a power loss (not a process crash) may lose the last transactions; see
    # docs/deployment.md — use PostgreSQL where that matters.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            # Seconds a writer waits for the lock before "database is locked" (the worker then waits and
            # retries: webhooks.worker).
            "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=20.0),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Reused connections: when the last connection to a WAL database closes, SQLite checkpoints the WAL
    # and deletes it (with fsyncs), which with a connection per request (Django's default) doubled the
    # webhook's latency and cost a third of its throughput (docs/benchmarks.md).
    _db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Without connection reuse PostgreSQL spends most of a webhook's time connecting.
    _db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
    _db.setdefault("CONN_HEALTH_CHECKS", True)
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Webhooks must never be rolled back by a later error: requests are not wrapped in one transaction.
_db["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users, passwords, logging in: accounts' user model and backends (docs/deployment.md, "Passwords") ---
AUTH_USER_MODEL = "accounts.User"
# Machine-generated passwords (≥ 128 bits of entropy) gain nothing from key stretching, so they are hashed
# with a cheap PBKDF2 (accounts.hashers.GeneratedPasswordHasher); the default stays first, so a password
# a person chooses, or a generated one at first login, is re-hashed at full strength (docs/deployment.md).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "accounts.hashers.GeneratedPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# ModelBackend first and unchanged; the second answers only has_perm("tags.<tag name>") from the user's
# tags and authenticates nobody (accounts.backends, docs/content-guards.md).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.TagPermissionBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: the admin's, served by the web process with WhiteNoise (docs/deployment.md) --------------
STATIC_URL = "static/"
STATIC_ROOT: Path | None = BASE_DIR / "var" / "static"
# STATIC_MANIFEST (default: on unless DEBUG): `collectstatic` writes hashed, compressed copies that
# WhiteNoise serves with far-future cache headers. Off (DEBUG, tests, benchmarks), WhiteNoise serves the
# apps' own files and nothing needs collecting.
STATIC_MANIFEST: bool = env.bool("STATIC_MANIFEST", default=not DEBUG)
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
if not STATIC_MANIFEST:
    STATIC_ROOT = None  # nothing collected: WhiteNoise would only warn that the folder is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Tasks: the worker's wake-ups (docs/architecture.md) ----------------------------------------------------
# database: django-tasks-db's queue, drained by `manage.py fusion_worker`; immediate: a task runs inside
# the request that queues it (the test-suite's default).
_task_backends = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
TASK_BACKEND = choice("TASK_BACKEND", _task_backends, default="database")
TASKS = {"default": {"BACKEND": _task_backends[TASK_BACKEND]}}

# --- E-mail: EMAIL_URL as Django 6.1's MAILERS (fusion_site.environment; docs/deployment.md) ----------------
# Unset: the console in development, a local SMTP server in production (Django's own default; the console
# backend would silently print every welcome e-mail to the worker's log instead of sending it).
MAILERS = mailers_from_email_url(
    env.str("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
)
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")

# --- The cache: one Ontraport budget for every process when shared (docs/deployment.md) ---------------------
# The default is each process's own memory: right for one worker. With several workers or web nodes, a
# shared cache (redis://) makes them pace one budget ("Several machines"; accounts.ontraport_budget).
CACHES: dict[str, dict[str, Any]] = {"default": env.cache("CACHE_URL", default="locmemcache://")}


# === accounts: what a contact means for a user, and the way out (docs/identity.md, docs/sync.md) ============

# --- Identity: which user a contact is (docs/identity.md, sections 4 and 5) ---------------------------------
# A user whose contact was deleted in Ontraport: kept as is, or deactivated (staff never are).
FUSION_DELETED_CONTACT = choice("FUSION_DELETED_CONTACT", ("keep", "deactivate"), default="keep")
# Ontraport's "Contact is created" trigger fires before the e-mail is typed: an `add` for a contact with no
# e-mail yet is tried this many times, this many seconds apart (about ten minutes) before it fails.
FUSION_NO_EMAIL_ATTEMPTS: int = env.int("FUSION_NO_EMAIL_ATTEMPTS", default=5)
FUSION_NO_EMAIL_RETRY_SECONDS: float = env.float("FUSION_NO_EMAIL_RETRY_SECONDS", default=150.0)

# --- Roles: the Django group a contact's role names (docs/identity.md, section 6) ---------------------------
# The group of a new user whose webhook names no role, or one that is refused. It passes the same check as
# any role (never administrative, no permissions unless listed below); one that fails is given to nobody.
FUSION_DEFAULT_ROLE: str = env.str("FUSION_DEFAULT_ROLE", default="subscriber")
# Roles a webhook may grant. Empty: any group without permissions, never an administrative one. The role
# comes from a URL, so it only finds a group, and the group is what is checked.
FUSION_ALLOWED_ROLES: list[str] = env.list("FUSION_ALLOWED_ROLES", default=[])

# --- Usernames (docs/identity.md, section 8) ----------------------------------------------------------------
# How a new user's username is made when no mapped username field gives a usable one.
FUSION_USERNAME_FORMAT = choice(
    "FUSION_USERNAME_FORMAT", ("email", "firstname_lastname", "firstname_random"), default="email"
)

# --- E-mails and passwords owed to a new user (docs/security.md, "Return Password never hurts the user") ----
# Welcome every new user by e-mail; off, only webhooks sent with send_notification=true do.
FUSION_SEND_WELCOME_EMAIL: bool = env.bool("FUSION_SEND_WELCOME_EMAIL", default=False)
# The Ontraport field (e.g. f1536) a new user's generated password is written to; empty: never written.
FUSION_RETURN_PASSWORD_FIELD: str = env.str("FUSION_RETURN_PASSWORD_FIELD", default="")

# --- Fields and tags (docs/admin.md, "Field mappings"; docs/content-guards.md) ------------------------------
# Longest profile value kept (longer ones are cut, with a note in the delivery's message).
FUSION_PROFILE_VALUE_MAX: int = env.int("FUSION_PROFILE_VALUE_MAX", default=2000)
# A tag id Ontraport sends that the site does not know triggers a refresh of the tag list, at most this
# often (seconds): a burst of webhooks carrying a new tag costs one tag-list fetch, not one per webhook.
FUSION_TAG_REFRESH_SECONDS: int = env.int("FUSION_TAG_REFRESH_SECONDS", default=300)
# Where a signed-in user without a guard's tags is sent (a URL or a URL name, e.g. an upgrade page); empty:
# a 403 page that names no tag (accounts.tag_guards, docs/content-guards.md).
FUSION_TAG_DENIED_URL: str = env.str("FUSION_TAG_DENIED_URL", default="")

# --- The way out: the site tells Ontraport (docs/sync.md) ---------------------------------------------------
# A user who signs up on the site (no contact yet) gets an Ontraport contact, found or made by e-mail with
# POST /Contacts/saveorupdate; off, only users linked to a contact are sent.
FUSION_PUSH_NEW_USERS: bool = env.bool("FUSION_PUSH_NEW_USERS", default=False)


# === webhooks, the way in: the edge, the throttle, the worker (docs/security.md, docs/architecture.md) ======

# --- The edge: what every inbound request passes (docs/security.md) -----------------------------------------
# The access key Ontraport puts in every webhook URL. No default: a site that accepted webhooks with a
# guessable key would let anyone create accounts, so the site refuses to start without one.
FUSION_ACCESS_KEY: str = env.str("FUSION_ACCESS_KEY", default="")
if len(FUSION_ACCESS_KEY) < 16:
    raise ImproperlyConfigured(
        "FUSION_ACCESS_KEY must be set to a random key of at least 16 characters "
        "(`make run` writes one into .env; `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)."
    )
# Keys being rotated out: still accepted (and masked) until removed from this list, so Ontraport's rules
# can be moved to the new key one by one.
FUSION_PREVIOUS_ACCESS_KEYS: list[str] = env.list("FUSION_PREVIOUS_ACCESS_KEYS", default=[])
# Hosts webhooks may be addressed to besides ALLOWED_HOSTS (e.g. an internal name Ontraport's requests reach
# the site by); every other Host is answered 400 disallowed_host (docs/security.md, "Hosts").
FUSION_WEBHOOK_EXTRA_HOSTS: list[str] = env.list("FUSION_WEBHOOK_EXTRA_HOSTS", default=[])
# Proxies (addresses or networks) in front of the web nodes whose X-Forwarded-For is believed: a request
# from one of them counts (throttle, stored source_ip) as the nearest address in X-Forwarded-For that is not
# itself a trusted proxy. Empty (the default): the peer's address, REMOTE_ADDR.
FUSION_TRUSTED_PROXIES: list[str] = env.list("FUSION_TRUSTED_PROXIES", default=[])

# --- The throttle: wrong keys (docs/security.md, "The wrong-key throttle") ----------------------------------
# Wrong keys from one address within the window before it is answered 429 for a while; legitimate senders,
# whose key is right, are never slowed.
FUSION_BAD_KEY_LIMIT: int = env.int("FUSION_BAD_KEY_LIMIT", default=20)
FUSION_BAD_KEY_WINDOW_SECONDS: int = env.int("FUSION_BAD_KEY_WINDOW_SECONDS", default=600)

# --- The worker and its queue: claiming, retries, coalescing (docs/architecture.md) -------------------------
# How many deliveries one worker pass claims, and how long its claim (lease) lasts before another worker
# may take the deliveries over (a worker that died mid-batch). The outbox, Return Password and the runs'
# leases last as long.
FUSION_BATCH_SIZE: int = env.int("FUSION_BATCH_SIZE", default=200)
FUSION_LEASE_SECONDS: int = env.int("FUSION_LEASE_SECONDS", default=300)
# fusion_worker renews the leases of the claims it holds with each heartbeat, for at most this long: a
# worker waiting on Ontraport's rate limit keeps its claims, so FUSION_LEASE_SECONDS can be short
# (docs/operations.md).
FUSION_LEASE_MAX_HOLD_SECONDS: int = env.int("FUSION_LEASE_MAX_HOLD_SECONDS", default=1800)
# How often a transient failure (Ontraport down, a timeout, bad credentials) is retried before the delivery
# is marked failed, and how far apart: exponential from the base, jittered, capped at the max. A 429 never
# counts as an attempt. The outbox and Return Password retry the same way.
FUSION_MAX_ATTEMPTS: int = env.int("FUSION_MAX_ATTEMPTS", default=8)
FUSION_RETRY_BASE_SECONDS: float = env.float("FUSION_RETRY_BASE_SECONDS", default=10.0)
FUSION_RETRY_MAX_SECONDS: float = env.float("FUSION_RETRY_MAX_SECONDS", default=3600.0)
# A group of fewer than 50 contacts (one Ontraport call) waits up to this long for more webhooks to fill it.
FUSION_COALESCE_SECONDS: float = env.float("FUSION_COALESCE_SECONDS", default=1.0)
# A burst: webhooks arriving faster than this many a second (Ontraport's 180 calls a minute serve 150 contacts
# a second at 50 per call). While one lasts, workers hold new deliveries, up to FUSION_BURST_MAX_HOLD_SECONDS,
# so a contact's repeated webhooks merge into one fetch instead of spending the budget twice. 0: never hold.
FUSION_BURST_RATE: float = env.float("FUSION_BURST_RATE", default=150.0)
FUSION_BURST_MAX_HOLD_SECONDS: float = env.float("FUSION_BURST_MAX_HOLD_SECONDS", default=60.0)


# === webhooks.adoption: import, resync and the sweep (docs/adoption.md) =====================================

# Bulk work spends Ontraport's budget only while more than this many calls are left in the window, so
# webhooks (and other programs on the account) keep the rest.
FUSION_BULK_RESERVE: int = env.int("FUSION_BULK_RESERVE", default=60)
# How often the worker resyncs every linked user ("24h", "90m", "3600s", "3600", "1d"; 0 = never), to heal
# webhooks Ontraport never sent. On by default only where the Ontraport client's credentials (below) are
# set: without them there is nothing to sweep.
_ontraport_credentials = bool(
    env.str("ONTRAPORT_APP_ID", default="") and env.str("ONTRAPORT_API_KEY", default="")
)
FUSION_RESYNC_EVERY = duration("FUSION_RESYNC_EVERY", default="24h" if _ontraport_credentials else "0")


# === webhooks.console: the admin's Ontraport page and the site's frame (docs/admin.md) ======================

# The site's name, in the admin's header and on the pages members reach (home, log in, set a password).
FUSION_SITE_NAME: str = env.str("FUSION_SITE_NAME", default="fusion-site")


# === webhooks.telemetry: heartbeats, /healthz, /readyz, /metrics (docs/operations.md) =======================

# Each worker beats every FUSION_HEARTBEAT_SECONDS; none seen for FUSION_WORKER_STALE_SECONDS = no worker.
FUSION_HEARTBEAT_SECONDS: float = env.float("FUSION_HEARTBEAT_SECONDS", default=10.0)
FUSION_WORKER_STALE_SECONDS: int = env.int("FUSION_WORKER_STALE_SECONDS", default=45)
# `manage.py check`'s "no worker is running" (fusion.W001). Off where something starts the worker beside the
# site and reports its death itself: under make run the warning was a false alarm printed while the worker
# started, and make run's supervisor says which process died and why.
FUSION_WORKER_CHECK: bool = env.bool("FUSION_WORKER_CHECK", default=True)
# /readyz answers 503 when a ready delivery has waited longer than this (a stuck or overwhelmed worker).
FUSION_READY_MAX_WAIT_SECONDS: int = env.int("FUSION_READY_MAX_WAIT_SECONDS", default=600)
# /metrics: open to the addresses listed (default: this machine only), or to a scraper sending
# "Authorization: Bearer <FUSION_METRICS_TOKEN>" (the way in through a proxy, whose address gunicorn sees).
FUSION_METRICS_TOKEN: str = env.str("FUSION_METRICS_TOKEN", default="")
FUSION_METRICS_ALLOWED_IPS: list[str] = env.list("FUSION_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])


# === The Ontraport client: where and how the site calls Ontraport (docs/ontraport-setup.md) =================

# Without credentials `make run` starts the local sandbox and points the site at it.
ONTRAPORT_API_URL: str = env.str("ONTRAPORT_API_URL", default="https://api.ontraport.com/1/")
ONTRAPORT_APP_ID: str = env.str("ONTRAPORT_APP_ID", default="")
ONTRAPORT_API_KEY: str = env.str("ONTRAPORT_API_KEY", default="")
ONTRAPORT_TIMEOUT: float = env.float("ONTRAPORT_TIMEOUT", default=30.0)
# Tries per call inside the client (a second try for a 5xx or timeout); longer outages are retried durably.
ONTRAPORT_CLIENT_ATTEMPTS: int = env.int("ONTRAPORT_CLIENT_ATTEMPTS", default=2)
# Calls left unused in each rate-limit window, so several workers sharing the account never overshoot.
ONTRAPORT_RATE_RESERVE: int = env.int("ONTRAPORT_RATE_RESERVE", default=2)
# Ontraport's rate limit counts calls over a rolling minute. The pacer logs when the site's calls went and
# sends the next one as soon as one of them leaves the window. Set it to the sandbox's --window when that
# runs with another; never shorter than the server's window (calls would be counted as gone too soon).
ONTRAPORT_RATE_WINDOW: float = env.float("ONTRAPORT_RATE_WINDOW", default=60.0)


# === Production hardening: `manage.py check --deploy` is clean when DEBUG is off (docs/deployment.md) =======

# Behind a TLS-terminating proxy, X-Forwarded-Proto says the request came over HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and Prometheus probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a commitment every subdomain must keep (HTTPS only, for good), so it is the site owner's
# explicit choice; until it is made, check --deploy's reminder about it (security.W021) is silenced.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Webhook bodies are small; anything larger is refused with 413 before it is parsed (docs/security.md).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024


# === Logging: every record masked, plain or JSON (docs/operations.md, "Logs"; docs/security.md) =============

# Structured logs: LOG_FORMAT=json writes one JSON object a line (secrets masked as in plain logs).
LOG_FORMAT = choice("LOG_FORMAT", ("plain", "json"), default="plain")
# The root logger's level, by its name in capitals as the logging module spells it.
_log_level = choice("LOG_LEVEL", logging.getLevelNamesMapping(), default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "fusion_site.log_json.JsonFormatter"},
    },
    "filters": {"redact_secrets": {"()": "fusion_site.log_filters.RedactSecretsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact_secrets"]}
    },
    "root": {"handlers": ["console"], "level": _log_level},
    "loggers": {
        # Django's own defaults give these handlers without our filter; route them through it.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
# Error reports (DEBUG pages, mails to ADMINS) have every configured secret removed, as logs do.
DEFAULT_EXCEPTION_REPORTER_FILTER = "fusion_site.log_filters.SecretsExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "fusion_site.log_filters.SecretsExceptionReporter"
