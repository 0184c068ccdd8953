"""Django settings, read from the environment, an optional ``.env`` (the project root in a clone, the current
directory when installed) and an optional configuration file (``--config proxy.yaml``), in that order of precedence.

The embedded default needs no other service: SQLite, the local-memory cache, the
in-memory channel layer and eager Celery. ``DATABASE_URL``, ``REDIS_URL`` and
``CELERY_BROKER_URL`` switch to PostgreSQL, Redis and a real broker.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from llmproxy_site import locations
from proxy_app.core.file_config import ConfigError, apply_as_environment_defaults, load_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = Path(os.environ.get("LLM_PROXY_ENV_FILE", locations.default_env_file()))
if _env_file.is_file():
    environ.Env.read_env(str(_env_file), overwrite=False)

# The configuration file (``--config`` / LLM_PROXY_CONFIG; see proxy.example.yaml): its settings are
# defaults below the environment; its backends, aliases, routes and keys are read by the proxy below.
PROXY_CONFIG_PATH = os.environ.get("LLM_PROXY_CONFIG", "")
try:
    PROXY_FILE_CONFIG = load_config(PROXY_CONFIG_PATH) if PROXY_CONFIG_PATH else None
except ConfigError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
if PROXY_FILE_CONFIG is not None:
    apply_as_environment_defaults(PROXY_FILE_CONFIG.config, os.environ)
MODEL_ALIASES: dict[str, str] = dict(PROXY_FILE_CONFIG.config.aliases) if PROXY_FILE_CONFIG else {}

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="llm-proxy-insecure-dev-key-set-DJANGO_SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "proxy_app",
    "commands_app",
    "usage_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "llmproxy_site.urls"
ASGI_APPLICATION = "llmproxy_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [locations.templates_dir()],
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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{locations.state_dir() / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the background usage writer and admin readers work side by side.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # Redis, or each process's memory while Redis is unreachable (llmproxy_site/resilient_cache.py)
    CACHES = {"default": {"BACKEND": "llmproxy_site.resilient_cache.ResilientRedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "llm-proxy",
                          "OPTIONS": {"MAX_ENTRIES": env.int("LOCAL_CACHE_MAX_ENTRIES", default=20_000)}}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = locations.state_dir() / "staticfiles"
STATICFILES_DIRS = [locations.templates_dir() / "static"] if (locations.templates_dir() / "static").is_dir() else []

# Streaming responses and large prompts (images) must not be capped by Django's form limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = None

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "llm-interactive-proxy API",
    "DESCRIPTION": "The client protocols the proxy serves (OpenAI, Anthropic, Gemini: any of them to any backend) "
                   "and the operator API (usage, audit log). Every endpoint takes a proxy key as Bearer, x-api-key, "
                   "x-goog-api-key or ?key=; without a configured proxy key, none is needed.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The client-protocol endpoints are plain Django views: proxy_app/api/openapi.py adds them.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "proxy_app.api.openapi.add_client_protocols"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {"llmproxy": {"level": env("LOG_LEVEL", default="INFO"), "propagate": True}},
}

# ---------------------------------------------------------------- proxy

LLM_INTERACTIVE_PROXY_API_KEY = env("LLM_INTERACTIVE_PROXY_API_KEY", default="")
LLM_BACKEND = env("LLM_BACKEND", default="")
# How often each process re-sums a budgeted proxy key's spend from the (shared) usage records.
PROXY_KEY_SPEND_REFRESH_SECONDS = env.float("PROXY_KEY_SPEND_REFRESH_SECONDS", default=60.0)
# The same for a session with a budget (!/budget): agents spend fast, so it is re-summed more often.
SESSION_SPEND_REFRESH_SECONDS = env.float("SESSION_SPEND_REFRESH_SECONDS", default=5.0)
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=20 * 1024 * 1024)
# Deepest JSON nesting a request body may have (real clients' tool schemas stay under ~12 levels).
MAX_JSON_DEPTH = env.int("MAX_JSON_DEPTH", default=64)
# A request head (request line and headers) larger than this, or with more headers, gets a 431.
MAX_REQUEST_HEADER_BYTES = env.int("MAX_REQUEST_HEADER_BYTES", default=32 * 1024)
MAX_REQUEST_HEADER_COUNT = env.int("MAX_REQUEST_HEADER_COUNT", default=100)

# Upstream timeouts, in seconds. PROXY_TIMEOUT bounds a whole non-streamed request.
PROXY_TIMEOUT = env.float("PROXY_TIMEOUT", default=600.0)
PROXY_CONNECT_TIMEOUT = env.float("PROXY_CONNECT_TIMEOUT", default=10.0)
PROXY_FIRST_BYTE_TIMEOUT = env.float("PROXY_FIRST_BYTE_TIMEOUT", default=120.0)
PROXY_IDLE_TIMEOUT = env.float("PROXY_IDLE_TIMEOUT", default=120.0)
# The largest upstream answer read (a non-streamed body, or one event of a stream): past it, a 502.
PROXY_MAX_RESPONSE_BYTES = env.int("PROXY_MAX_RESPONSE_BYTES", default=64 * 1024 * 1024)
PROXY_MAX_CONNECTIONS = env.int("PROXY_MAX_CONNECTIONS", default=1000)
PROXY_HTTP2 = env.bool("PROXY_HTTP2", default=False)
# Reach upstreams through the HTTP proxy that HTTPS_PROXY / HTTP_PROXY / ALL_PROXY name, except for
# hosts NO_PROXY lists (the environment variables every HTTP client honours; read when a base URL's
# client is created).
PROXY_TRUST_ENV = env.bool("PROXY_TRUST_ENV", default=True)
# The HTTP client that calls upstreams (proxy_app/upstream/transports.py): "own" (this project's
# HTTP/1.1 transport), "httpx" (httpx's pool; the only one speaking HTTP/2, so PROXY_HTTP2=true
# defaults to it and refuses the others) or "aiohttp" (aiohttp's client; needs httpx-aiohttp).
PROXY_UPSTREAM_TRANSPORT = env("PROXY_UPSTREAM_TRANSPORT", default="httpx" if PROXY_HTTP2 else "own")
# On SIGTERM / SIGINT, runproxy refuses new connections and gives the requests in flight this long to
# finish before ending them (llmproxy_site/server/graceful.py); queued usage records are written after.
SHUTDOWN_GRACE_SECONDS = env.float("SHUTDOWN_GRACE_SECONDS", default=30.0)

OPENROUTER_HTTP_REFERER = env("OPENROUTER_HTTP_REFERER", default="https://github.com/llm-interactive-proxy")
OPENROUTER_APP_TITLE = env("OPENROUTER_APP_TITLE", default="llm-interactive-proxy")
ANTHROPIC_VERSION = env("ANTHROPIC_VERSION", default="2023-06-01")
# Prompt-cache breakpoints (cache_control) added for OpenAI and Gemini clients on Anthropic backends
# (proxy_app/protocols/anthropic/cache_hints.py); an Anthropic client's request keeps exactly its own.
ANTHROPIC_AUTO_CACHE = env.bool("ANTHROPIC_AUTO_CACHE", default=True)

# ---------------------------------------------------------------- admin login and single sign-on

# OpenID Connect login for the admin and dashboard (proxy_app/operations/sso.py): off unless OIDC_CLIENT_ID
# and OIDC_ISSUER (endpoints discovered from <issuer>/.well-known/openid-configuration on first use) or the
# explicit endpoints are set. The provider redirects back to <proxy>/admin/sso/callback/.
OIDC_ISSUER = env("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", default="")
OIDC_AUTHORIZATION_ENDPOINT = env("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_TOKEN_ENDPOINT = env("OIDC_TOKEN_ENDPOINT", default="")
OIDC_USERINFO_ENDPOINT = env("OIDC_USERINFO_ENDPOINT", default="")
OIDC_JWKS_URI = env("OIDC_JWKS_URI", default="")
OIDC_END_SESSION_ENDPOINT = env("OIDC_END_SESSION_ENDPOINT", default="")  # logout there too ("": local only)
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="single sign-on")  # the button: "Log in with ..."
OIDC_SCOPES = env("OIDC_SCOPES", default="openid email profile")
OIDC_SIGN_ALGO = env("OIDC_SIGN_ALGO", default="RS256")
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)  # seconds, for each call to the provider
# Members of these groups (the claim OIDC_GROUPS_CLAIM; a dotted name reaches into nested claims) are
# superusers or staff; anyone else is refused.
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
OIDC_SUPERUSER_GROUPS = env.list("OIDC_SUPERUSER_GROUPS", default=[])
OIDC_STAFF_GROUPS = env.list("OIDC_STAFF_GROUPS", default=[])
# false: no password login anywhere (Django's password backend is left out; the admin shows only SSO).
ADMIN_PASSWORD_LOGIN = env.bool("ADMIN_PASSWORD_LOGIN", default=True)
OIDC_ENABLED = bool(OIDC_CLIENT_ID and (OIDC_ISSUER or OIDC_AUTHORIZATION_ENDPOINT))
AUTHENTICATION_BACKENDS = [
    *(["proxy_app.operations.sso_backend.GroupMappedOIDCBackend"] if OIDC_ENABLED else []),
    *(["django.contrib.auth.backends.ModelBackend"] if ADMIN_PASSWORD_LOGIN else []),
]

# ---------------------------------------------------------------- celery

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True

# ---------------------------------------------------------------- commands and sessions

# How long a provider's signed reasoning is kept for a client of another protocol to replay it
# (proxy_app/reasoning_state.py): an agent's tool loop, and the pauses a person takes within it.
REASONING_STATE_TTL_SECONDS = env.int("REASONING_STATE_TTL_SECONDS", default=6 * 3600)
# The key sealing that state into Responses clients' encrypted_content (proxy_app/reasoning_seal.py);
# empty: derived from DJANGO_SECRET_KEY. Every process serving one set of clients needs the same one.
REASONING_SEAL_KEY = env("REASONING_SEAL_KEY", default="")
# Conversation affinity (proxy_app/routing/affinity.py): a conversation stays on the backend key that
# served it (the provider's prompt cache is per key) while that key is healthy; remembered in the
# cache (Redis when REDIS_URL is set) for AFFINITY_TTL_SECONDS after the conversation's last turn.
AFFINITY_ENABLED = env.bool("AFFINITY_ENABLED", default=True)
AFFINITY_TTL_SECONDS = env.int("AFFINITY_TTL_SECONDS", default=3600)
# Backend keys are sealed in the database under a key-encryption key kept outside it
# (proxy_app/sealed_fields.py): PROXY_KEK (comma-separated; the first seals, all open: rotate with
# `manage.py rotate_kek`), else the file PROXY_KEK_FILE, created with a random KEK on first use.
PROXY_KEK = env.list("PROXY_KEK", default=[])
# Clients may send their own provider key (X-Upstream-Api-Key) when their proxy key allows it (the admin's
# "may bring its own provider key"); this setting allows it for LLM_INTERACTIVE_PROXY_API_KEY and open access.
BYOK_ALLOW_ENV_KEY = env.bool("BYOK_ALLOW_ENV_KEY", default=False)
PROXY_KEK_FILE = env("PROXY_KEK_FILE", default=str(locations.state_dir() / ".llm-proxy-kek"))

COMMAND_PREFIX = env("COMMAND_PREFIX", default="!/")
DISABLE_INTERACTIVE_COMMANDS = env.bool("DISABLE_INTERACTIVE_COMMANDS", default=False)
OPENAI_URL_COMMAND_ENABLED = env.bool("OPENAI_URL_COMMAND_ENABLED", default=True)
# Hosts a session's openai_url may receive the operator's OpenAI keys for; others get no key.
OPENAI_URL_ALLOWED_HOSTS = env.list("OPENAI_URL_ALLOWED_HOSTS", default=["api.openai.com"])
# A session's openai_url may reach only public addresses, besides the hosts above and these networks
# (CIDRs, e.g. 10.0.0.0/8 for a model server on the LAN): loopback, private, link-local (the cloud
# metadata service), CGNAT and the like are refused (proxy_app/core/destinations.py).
OPENAI_URL_ALLOWED_NETWORKS = env.list("OPENAI_URL_ALLOWED_NETWORKS", default=[])

# ---- usage

USAGE_RECORDING_ENABLED = env.bool("USAGE_RECORDING_ENABLED", default=True)
USAGE_QUEUE_MAX = env.int("USAGE_QUEUE_MAX", default=100_000)  # records waiting for the writer
USAGE_BATCH_SIZE = env.int("USAGE_BATCH_SIZE", default=500)
USAGE_FLUSH_INTERVAL = env.float("USAGE_FLUSH_INTERVAL", default=1.0)  # seconds between partial batches
USAGE_SHUTDOWN_FLUSH_SECONDS = env.float("USAGE_SHUTDOWN_FLUSH_SECONDS", default=10.0)
USAGE_RETENTION_DAYS = env.int("USAGE_RETENTION_DAYS", default=90)  # raw records; rollups are kept
USAGE_CAPTURE_BODIES = env.bool("USAGE_CAPTURE_BODIES", default=False)
USAGE_CAPTURE_RETENTION_DAYS = env.int("USAGE_CAPTURE_RETENTION_DAYS", default=7)
# OpenTelemetry traces (proxy_app/operations/tracing.py), off unless an OTLP/HTTP collector is named
# (spans go to <endpoint>/v1/traces; OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME and
# OTEL_RESOURCE_ATTRIBUTES are read by the SDK itself). Prompts and answers only with OTEL_CAPTURE_CONTENT.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_CAPTURE_CONTENT = env.bool("OTEL_CAPTURE_CONTENT", default=False)
OTEL_BSP_SCHEDULE_DELAY = env.int("OTEL_BSP_SCHEDULE_DELAY", default=1000)  # ms between span exports
# The share (0-1) of the traces the proxy starts that are recorded (parent-based trace-id ratio: a
# client's traceparent decides for its own); each recorded request costs ~5-10 % of its CPU (README).
OTEL_TRACES_SAMPLER_ARG = env.float("OTEL_TRACES_SAMPLER_ARG", default=1.0)
USAGE_ROLLUP_INTERVAL_SECONDS = env.int("USAGE_ROLLUP_INTERVAL_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "usage-rollup": {"task": "usage_app.rollup_usage", "schedule": float(USAGE_ROLLUP_INTERVAL_SECONDS)},
    "usage-purge-raw": {"task": "usage_app.purge_raw_usage", "schedule": 3600.0},
    "usage-purge-captures": {"task": "usage_app.purge_captured_bodies", "schedule": 3600.0},
}
INSTALLED_APPS += ["drf_spectacular_sidecar"]  # Swagger UI served locally, no CDN
SPECTACULAR_SETTINGS.update({
    "SWAGGER_UI_DIST": "/api/docs/assets/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/api/docs/assets/swagger-ui-dist/favicon-32x32.png",
    "REDOC_DIST": "/api/docs/assets/redoc",
})

# ---------------------------------------------------------------- routing and retries

PROXY_MAX_ATTEMPTS = env.int("PROXY_MAX_ATTEMPTS", default=8)
PROXY_RETRY_BACKOFF_BASE = env.float("PROXY_RETRY_BACKOFF_BASE", default=0.25)
PROXY_RETRY_BACKOFF_MAX = env.float("PROXY_RETRY_BACKOFF_MAX", default=4.0)
# Cooldown for a rate-limited key when the provider names no retry delay.
DEFAULT_COOLDOWN_SECONDS = env.float("DEFAULT_COOLDOWN_SECONDS", default=60.0)
# When every key is cooling and the soonest recovers within this many seconds, wait instead of failing.
COOLDOWN_WAIT_MAX_SECONDS = env.float("COOLDOWN_WAIT_MAX_SECONDS", default=0.0)

# ---------------------------------------------------------------- guards

REDACT_API_KEYS_IN_PROMPTS = env.bool("REDACT_API_KEYS_IN_PROMPTS", default=True)
LOOP_DETECTION_ENABLED = env.bool("LOOP_DETECTION_ENABLED", default=True)
LOOP_DETECTION_BUFFER_SIZE = env.int("LOOP_DETECTION_BUFFER_SIZE", default=2048)
LOOP_DETECTION_MAX_PATTERN_LENGTH = env.int("LOOP_DETECTION_MAX_PATTERN_LENGTH", default=500)
LOOP_DETECTION_MIN_REPETITIONS_SHORT = env.int("LOOP_DETECTION_MIN_REPETITIONS_SHORT", default=8)
LOOP_DETECTION_MIN_REPETITIONS_MEDIUM = env.int("LOOP_DETECTION_MIN_REPETITIONS_MEDIUM", default=4)
LOOP_DETECTION_MIN_REPETITIONS_LONG = env.int("LOOP_DETECTION_MIN_REPETITIONS_LONG", default=3)
LOOP_DETECTION_ANALYSIS_INTERVAL = env.int("LOOP_DETECTION_ANALYSIS_INTERVAL", default=64)
# Paraphrased text loops (the same content in other words): off by default, as it halts some legitimate
# reference-style prose (tests/corpus/loops: codex-text-legit-security-release-notes).
LOOP_DETECTION_PARAPHRASE_ENABLED = env.bool("LOOP_DETECTION_PARAPHRASE_ENABLED", default=False)
LOOP_DETECTION_PARAPHRASE_SIMILARITY = env.float("LOOP_DETECTION_PARAPHRASE_SIMILARITY", default=0.5)
# Tool-call loops, counted from each request's own conversation (no per-session or time-window state;
# TOOL_LOOP_TTL_SECONDS is no longer read). Limits are calls allowed before the model is warned
# (chance_then_break: the next call is let through with a warning, the one after is stopped) or stopped (break).
# Prompt compaction (proxy_app/guards/compaction.py): off unless on here, for a route, or by !/set(compact=on).
COMPACT_ENABLED = env.bool("COMPACT_ENABLED", default=False)
COMPACT_KEEP_TURNS = env.int("COMPACT_KEEP_TURNS", default=3)
COMPACT_MIN_CHARS = env.int("COMPACT_MIN_CHARS", default=6000)
COMPACT_KEEP_CHARS = env.int("COMPACT_KEEP_CHARS", default=1500)
COMPACT_MIN_SAVINGS_TOKENS = env.int("COMPACT_MIN_SAVINGS_TOKENS", default=20000)
TOOL_LOOP_DETECTION_ENABLED = env.bool("TOOL_LOOP_DETECTION_ENABLED", default=True)
TOOL_LOOP_MODE = env("TOOL_LOOP_MODE", default="chance_then_break")
TOOL_LOOP_MAX_REPEATS = env.int("TOOL_LOOP_MAX_REPEATS", default=4)
TOOL_LOOP_CYCLE_MAX_PERIOD = env.int("TOOL_LOOP_CYCLE_MAX_PERIOD", default=4)
TOOL_LOOP_CYCLE_MAX_REPEATS = env.int("TOOL_LOOP_CYCLE_MAX_REPEATS", default=3)
TOOL_LOOP_NO_PROGRESS_ENABLED = env.bool("TOOL_LOOP_NO_PROGRESS_ENABLED", default=True)
TOOL_LOOP_NO_PROGRESS_MAX_CALLS = env.int("TOOL_LOOP_NO_PROGRESS_MAX_CALLS", default=8)
