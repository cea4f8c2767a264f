"""Settings for the LLM gateway.

Every knob is an environment variable with a default that runs on a fresh machine
(SQLite, an Ollama on localhost). `.env.example` lists them all.
"""

import ipaddress
import json
import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from llmsite import datadir

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default):
    value = os.getenv(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envnumber(name, default, kind=int, minimum=None):
    value = os.getenv(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a {kind.__name__}, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def envlist(name, default):
    value = os.getenv(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def envrate(name, default):
    """A DRF throttle rate ("60/min"), or None for no limit ("off")."""
    value = os.getenv(name)
    if value is None or value.strip() == "":
        return default
    value = value.strip().lower()
    if value in ("off", "none"):
        return None
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must be a rate like 60/min or 5/s, or off; not {value!r}")
    return value


def envnetworks(name, default):
    """A comma-separated list of IP addresses or networks (127.0.0.1, 10.0.0.0/8)."""
    networks = []
    for item in envlist(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network") from None
    return networks


# Where the SQLite database, the generated secret key and the wake-up sockets
# live: private to the service's user (llmsite/datadir.py), tightened at every start.
DATA_DIR = Path(os.getenv("LLM_DATA_DIR", BASE_DIR / "var"))
datadir.make_private(DATA_DIR)


def _secret_key():
    """DJANGO_SECRET_KEY, else one generated once and kept in DATA_DIR.

    A key that changes at every start would log everybody out of the dashboard,
    and a key in the repository would not be secret. Processes that start
    together agree on one key (datadir.read_or_create).
    """
    if key := os.getenv("DJANGO_SECRET_KEY"):
        return key
    key, _ = datadir.read_or_create(DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(50))
    return key


SECRET_KEY = _secret_key()
DEBUG = envbool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "llmsite",  # first: its runserver (ASGI, llmsite/management/commands/runserver.py) wins
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_htmx",
    "llm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "llm.middleware.BodySizeLimitMiddleware",
    "llm.middleware.NulInUrlMiddleware",
    "llm.middleware.StaticFilesMiddleware",  # WhiteNoise's, async too
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "llmsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

WSGI_APPLICATION = "llmsite.wsgi.application"  # for WSGI servers; runserver and the Procfile serve llmsite.asgi
ASGI_APPLICATION = "llmsite.asgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=envnumber("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server's threads and the worker write to one file at once: WAL lets
    # readers go on during a write, IMMEDIATE makes a transaction take the write
    # lock up front (no "database is locked" half-way), and the timeout lets a
    # writer queue behind another instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # Made private before SQLite makes it 0644 (its -wal and -shm take its mode).
    datadir.private_database(DATABASES["default"]["NAME"])
    # Tests run the worker in threads beside the test: a file, as in production,
    # not Django's shared in-memory database, whose table locks fail at once
    # ("database table is locked") instead of waiting.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Whitenoise warns at every start while the folder is missing (before the first collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Serve straight from the app and project folders too, so `runserver` and a
# checkout without `collectstatic` still show a styled dashboard.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["llm.doors.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["llm.doors.permissions.HasApiToken"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["llm.doors.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "llm.doors.exceptions.handler",
    "UNAUTHENTICATED_USER": None,
    # Per-token rate limits (llm/rules/limits.py), by scope and the token's role.
    "DEFAULT_THROTTLE_CLASSES": ["llm.rules.limits.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token.generate": envrate("LLM_RATE_LIMIT", "300/min"),
        "token.admin": envrate("LLM_ADMIN_RATE_LIMIT", "3000/min"),
        "generation.generate": envrate("LLM_GENERATION_RATE_LIMIT", "60/min"),
        "generation.admin": envrate("LLM_ADMIN_GENERATION_RATE_LIMIT", "600/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema at /api/v1/llm/schema/ and its docs page at /api/v1/llm/docs/.
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM gateway API",
    "DESCRIPTION": (
        "One model in memory at a time, a durable queue in front of it. Send a token as `X-API-Key: <token>` "
        "or `Authorization: Bearer <token>`. Errors are always "
        '`{"success": false, "error": "<HTTP reason phrase>", "message": "<sentence>"}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "PREPROCESSING_HOOKS": ["llm.doors.schema.hooks.only_this_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "llm.doors.schema.hooks.retry_after_on_429",
        "llm.doors.schema.hooks.door_bodies_required",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Throttle counts (llm/rules/limits.py) live in the cache. Local memory is right
# for the one web process llmsite/gunicorn.py runs; with WEB_WORKERS above 1 each
# process would count on its own, so point this at a shared cache then.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Limits and security ---------------------------------------------------------

# The longest prompt POST /generate takes (413 past it), and the largest request
# body of any kind (413 past it, before the body is read).
LLM_MAX_PROMPT_CHARS = envnumber("LLM_MAX_PROMPT_CHARS", 100_000, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = envnumber("LLM_MAX_BODY_BYTES", 1_048_576, minimum=1024)

# The dashboard's and the admin's logins (llm/logins.py): after this many wrong
# passwords for one username from one address, that username is refused from
# that address, even with the right password, for this long.
LLM_LOGIN_MAX_FAILURES = envnumber("LLM_LOGIN_MAX_FAILURES", 5, minimum=1)
LLM_LOGIN_LOCKOUT_SECONDS = envnumber("LLM_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)

# GET /metrics (Prometheus) answers a request from an address in METRICS_ALLOW that
# came straight to the app (not through a proxy), or one that sends METRICS_TOKEN
# or an admin API token as a Bearer token. Empty METRICS_ALLOW: a token always.
METRICS_ALLOW = envnetworks("METRICS_ALLOW", ["127.0.0.1", "::1"])
METRICS_TOKEN = os.getenv("METRICS_TOKEN", "")

# DJANGO_HTTPS=true when clients reach the service over HTTPS (a TLS proxy in front,
# see README, "Security"): secure cookies, a redirect to HTTPS, HSTS. With it,
# `manage.py check --deploy` has nothing to say.
HTTPS = envbool("DJANGO_HTTPS", False)
SECURE_SSL_REDIRECT = envbool("DJANGO_SSL_REDIRECT", HTTPS)
# Prometheus on the box itself scrapes plain HTTP straight from gunicorn.
SECURE_REDIRECT_EXEMPT = [r"^metrics/?$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envnumber("DJANGO_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", False)
# gunicorn already trusts X-Forwarded-Proto from a proxy on 127.0.0.1; set this when
# the proxy is elsewhere and strips the header from clients' requests.
if envbool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A proxy that does not pass the client's Host header on (deploy/ sends it) can send
# X-Forwarded-Host instead; only trust it from a proxy that overwrites it.
USE_X_FORWARDED_HOST = envbool("DJANGO_USE_X_FORWARDED_HOST", False)

# --- The gateway -------------------------------------------------------------

OLLAMA_HOST = os.getenv("OLLAMA_HOST", "http://127.0.0.1:11434").rstrip("/")
if "://" not in OLLAMA_HOST:
    # Ollama's own clients accept "host:port" in OLLAMA_HOST; so do we.
    OLLAMA_HOST = f"http://{OLLAMA_HOST}"



def envnodes(name):
    """LLM_NODES: comma-separated name=url pairs, in order; unset (None), one node "default" at
    OLLAMA_HOST (read when used: llm/engine/nodes.py)."""
    value = os.getenv(name, "").strip()
    if not value:
        return None
    nodes = {}
    for item in value.split(","):
        node, sep, url = item.strip().partition("=")
        node, url = node.strip(), url.strip().rstrip("/")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", node) or not url:
            raise ImproperlyConfigured(f"{name} must be name=url pairs like a=http://10.0.0.2:11434, not {item!r}")
        if node in nodes:
            raise ImproperlyConfigured(f"{name} names the node {node!r} twice")
        nodes[node] = url if "://" in url else f"http://{url}"
    return nodes


# The Ollama servers of the fleet, {name: url}: each holds one model at a time.
LLM_NODES = envnodes("LLM_NODES")
# How long the engine trusts what it last saw resident on a node before asking /api/ps again.
LLM_RESIDENT_CHECK_SECONDS = envnumber("LLM_RESIDENT_CHECK_SECONDS", 30.0, float, minimum=0)
# A node that stopped answering is asked again after 1 s, then 2, 4 ... up to this.
LLM_NODE_RECHECK_MAX_SECONDS = envnumber("LLM_NODE_RECHECK_MAX_SECONDS", 15.0, float, minimum=1)

# A bootstrap API token, for a box set up without the admin.
LLM_SERVICE_TOKEN = os.getenv("LLM_SERVICE_TOKEN", "")

# The models clients may ask for. JSON: {"name": {"tag": "ollama-tag", "description": "..."}}
# given inline or as a path to a file. Unset: the six models of the seed contract.
LLM_CATALOG = os.getenv("LLM_CATALOG", "")
if LLM_CATALOG and not LLM_CATALOG.lstrip().startswith("{"):
    LLM_CATALOG = Path(LLM_CATALOG).read_text()
LLM_CATALOG = json.loads(LLM_CATALOG) if LLM_CATALOG else None

# How long a model stays loaded after its last use (Ollama's keep_alive).
LLM_KEEP_ALIVE = os.getenv("LLM_KEEP_ALIVE", "5m")
# How long POST /generate and /pull wait for the answer before replying 202.
LLM_GENERATE_WAIT_SECONDS = envnumber("LLM_GENERATE_WAIT_SECONDS", 120.0, float, minimum=0)
LLM_PULL_WAIT_SECONDS = envnumber("LLM_PULL_WAIT_SECONDS", 300.0, float, minimum=0)
# How long an unstreamed call through the Ollama- or OpenAI-compatible API waits
# (their clients know no "queued" answer); past it the request is cancelled.
LLM_COMPAT_WAIT_SECONDS = envnumber("LLM_COMPAT_WAIT_SECONDS", 900.0, float, minimum=1)
# Timeouts on the HTTP calls to Ollama: connecting, and the gap between two chunks
# of a reply (a model that loads slowly sends nothing for a while).
OLLAMA_CONNECT_TIMEOUT = envnumber("OLLAMA_CONNECT_TIMEOUT", 5.0, float, minimum=0.1)
OLLAMA_READ_TIMEOUT = envnumber("OLLAMA_READ_TIMEOUT", 300.0, float, minimum=1)
# The longest one generation may run, start to end.
LLM_GENERATION_TIMEOUT = envnumber("LLM_GENERATION_TIMEOUT", 900, int, minimum=10)
# The longest one pull may run.
LLM_PULL_TIMEOUT = envnumber("LLM_PULL_TIMEOUT", 6 * 3600, int, minimum=60)
# How many times a request is run when its worker dies under it (crash recovery).
LLM_MAX_ATTEMPTS = envnumber("LLM_MAX_ATTEMPTS", 2, int, minimum=1)
# While Ollama is unreachable, a request waits and retries (with a growing pause)
# this long before it fails.
LLM_OLLAMA_RETRY_SECONDS = envnumber("LLM_OLLAMA_RETRY_SECONDS", 60.0, float, minimum=0)
# The most requests that may wait; beyond it, generate answers 503 with Retry-After.
LLM_MAX_QUEUE_LENGTH = envnumber("LLM_MAX_QUEUE_LENGTH", 500, int, minimum=1)
# The most calls of one token that wait for their answer or stream it at once, per web
# process; beyond it a door answers 429 with Retry-After (0: no limit).
LLM_MAX_OPEN_WAITS_PER_TOKEN = envnumber("LLM_MAX_OPEN_WAITS_PER_TOKEN", 100, int, minimum=0)
# Threads (each with one database connection) that read the rows of every waiting client
# of a web process (llm/queue/offthread.py).
LLM_WAIT_DB_THREADS = envnumber("LLM_WAIT_DB_THREADS", 4, int, minimum=1)
# How long a web process trusts a token it found by its key without looking again
# (llm/doors/authentication.py): a revocation in the admin holds at once in the process that
# made it, elsewhere (WEB_WORKERS above 1, a shell) within this many seconds (0: look every call).
LLM_TOKEN_CACHE_SECONDS = envnumber("LLM_TOKEN_CACHE_SECONDS", 5.0, float, minimum=0)
# Fit before load (llm/engine/fit.py): where to read MemAvailable, how much memory to
# keep free for the rest of the box, and Ollama's models folder when it is on
# this machine (empty: no disk check before a pull).
LLM_MEMINFO_PATH = os.getenv("LLM_MEMINFO_PATH", "/proc/meminfo")
LLM_MEMORY_HEADROOM_MB = envnumber("LLM_MEMORY_HEADROOM_MB", 256, int, minimum=0)
LLM_MODELS_DIR = os.getenv("LLM_MODELS_DIR", "")
# The database lease that makes loading and generating one-at-a-time across
# processes: how long it lasts without renewal (its holder renews it every third).
LLM_LEASE_SECONDS = envnumber("LLM_LEASE_SECONDS", 30.0, float, minimum=1)
# This host's name in lease holders (a lease held from another host is judged by expiry,
# never by PID). Unset: the hostname; set it when two worker hosts could share one.
LLM_HOST_ID = os.getenv("LLM_HOST_ID", "").strip()
# How often a waiting web request looks at the database for its result when no
# wake-up came (wake-ups make it answer at once; this is the safety net).
LLM_POLL_SECONDS = envnumber("LLM_POLL_SECONDS", 0.5, float, minimum=0.001)
# How often a django-q2 schedule wakes the worker anyway, in case a wake-up was lost.
LLM_SAFETY_NET_MINUTES = envnumber("LLM_SAFETY_NET_MINUTES", 1, int, minimum=1)
# After its last request, a generation task of `manage.py worker` waits this long for the
# next one before it ends (llm/queue/linger.py): a request stored meanwhile needs no new
# django-q2 task. 0: a task per request. Below 30 s (django-q2's timeout has a 60 s margin).
LLM_WORKER_LINGER_SECONDS = envnumber("LLM_WORKER_LINGER_SECONDS", 5.0, float, minimum=0)
if LLM_WORKER_LINGER_SECONDS >= 30:
    raise ImproperlyConfigured(f"LLM_WORKER_LINGER_SECONDS must be below 30, not {LLM_WORKER_LINGER_SECONDS:g}")
# While a client streams a reply, the worker passes its new text on this often (a line of the
# stream at most this often; 0: as each token comes). Each line costs the model some CPU on a
# CPU-only box (docs/benchmarks.md, "Relay"): ten a second keep that under 1%.
LLM_STREAM_FLUSH_SECONDS = envnumber("LLM_STREAM_FLUSH_SECONDS", 0.1, float, minimum=0)
# Unix sockets for wake-ups between the web server and the worker (llm/queue/wakeups.py).
# Socket paths must stay under 108 bytes, so keep this folder's path short.
LLM_RUN_DIR = Path(os.getenv("LLM_RUN_DIR", DATA_DIR / "run"))
datadir.make_private(LLM_RUN_DIR)
# Wake-ups between hosts: "unix" (the sockets above: one box) or "postgres" (also a
# PostgreSQL NOTIFY, heard by every host on the same database; llm/queue/pgwakeups.py).
LLM_WAKEUPS = os.getenv("LLM_WAKEUPS", "unix").strip() or "unix"
if LLM_WAKEUPS not in ("unix", "postgres"):
    raise ImproperlyConfigured(f"LLM_WAKEUPS must be unix or postgres, not {LLM_WAKEUPS!r}")
# Which waiting request runs next (llm/queue/policy.py): "swap-aware" keeps serving
# the loaded model while requests for it wait, "fifo" is first come, first served.
LLM_SCHEDULER = os.getenv("LLM_SCHEDULER", "swap-aware")
if LLM_SCHEDULER not in ("swap-aware", "fifo"):
    raise ImproperlyConfigured(f"LLM_SCHEDULER must be swap-aware or fifo, not {LLM_SCHEDULER!r}")
# Swap-aware: the longest a request may be passed over by younger ones for the
# loaded model before it runs next, whatever its model (aging).
LLM_MAX_EXTRA_WAIT_SECONDS = envnumber("LLM_MAX_EXTRA_WAIT_SECONDS", 60.0, float, minimum=0)

# Retention (llm/retention.py): how many days finished work is kept. A finished
# request loses its text (prompt, messages, response and the fields passed through
# to Ollama) after LLM_KEEP_REQUEST_TEXT_DAYS and the whole row after
# LLM_KEEP_REQUESTS_DAYS; its counters stay in /metrics for good. The prune runs
# every LLM_PRUNE_MINUTES on the worker's schedule (0: never; `manage.py prune`
# runs it by hand). Queued and running work is never pruned.
LLM_KEEP_REQUESTS_DAYS = envnumber("LLM_KEEP_REQUESTS_DAYS", 90.0, float, minimum=0)
LLM_KEEP_REQUEST_TEXT_DAYS = envnumber("LLM_KEEP_REQUEST_TEXT_DAYS", 7.0, float, minimum=0)
LLM_KEEP_AUDIT_DAYS = envnumber("LLM_KEEP_AUDIT_DAYS", 365.0, float, minimum=0)
LLM_KEEP_PULLS_DAYS = envnumber("LLM_KEEP_PULLS_DAYS", 30.0, float, minimum=0)
LLM_PRUNE_MINUTES = envnumber("LLM_PRUNE_MINUTES", 60, int, minimum=0)

# One cluster over the ORM broker. Two worker processes, but generations run one
# at a time: each task takes a database lease first (llm/engine/residency.py), and a
# task that finds it taken returns at once because the holder drains the queue.
# The second process lets a pull run beside a generation without holding it up.
# The broker is the ORM's, woken over a Unix socket when a task is stored
# (llm/queue/broker.py): tasks start at once, and `poll` is only the safety net.
_LONGEST_TASK = max(LLM_GENERATION_TIMEOUT, LLM_PULL_TIMEOUT)
Q_CLUSTER = {
    "name": "llm",
    "orm": "default",
    "broker_class": "llm.queue.broker.WakingORM",
    # One generation per node at a time, and pulls beside them (in a fleet, one more that
    # waits for a node that stopped answering).
    "workers": envnumber("Q_WORKERS", len(LLM_NODES) + 2 if LLM_NODES else 2, minimum=1),
    "recycle": 500,
    # django-q2 hands a task out again after `retry` seconds if it was not
    # acknowledged, so `timeout` must stay below it or a long task runs twice.
    "timeout": _LONGEST_TASK + 60,
    "retry": _LONGEST_TASK + 120,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 100,
    "catch_up": False,
    # Idle, the worker wakes only for these two (bench/lean.py: 0.07% of a core where
    # 1 s and django-q2's 0.5 s took 0.3%): the pusher's look at the table, in case a
    # wake-up was lost, and the sentinel's check of its workers (and of task timeouts).
    "poll": envnumber("Q_POLL_SECONDS", 5.0, float, minimum=0.001),
    "guard_cycle": 5,
    "label": "Worker tasks",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        # Never log request bodies or headers: they carry tokens and prompts.
        "django.request": {"level": "ERROR"},
    },
}
