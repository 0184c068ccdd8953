"""The settings the suite runs with: the project's own, minus the developer's configuration.

A developer who has configured the proxy has a ``.env`` and often exported variables (a proxy key,
backend keys, a default backend); the suite must mean the same on their machine as on a clean one.
So the ``.env`` file is not read and every variable that configures the proxy is dropped before the
settings load. Only the service URLs stay: they are how CI (and a developer) point the suite at real
PostgreSQL, Redis and RabbitMQ. The proxy processes the tests start get the project's own settings
module and exactly the environment each test gives them (and no ``.env`` unless a test names one).
"""

from __future__ import annotations

import os

KEPT = frozenset({"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_SETTINGS_MODULE"})
CONFIGURATION_PREFIXES = (
    "LLM_", "OPENAI_", "OPENROUTER_", "ANTHROPIC_", "GEMINI_", "PROXY_", "DJANGO_", "LOOP_DETECTION_", "TOOL_LOOP_",
    "REASONING_", "USAGE_", "REDACT_", "COMMAND_PREFIX", "DISABLE_INTERACTIVE_COMMANDS", "COOLDOWN_",
    "DEFAULT_COOLDOWN_", "MAX_REQUEST_BODY_BYTES", "LOCAL_CACHE_", "LOG_LEVEL", "OIDC_", "ADMIN_PASSWORD_LOGIN", "OTEL_",
)

for _name in [n for n in os.environ if n.startswith(CONFIGURATION_PREFIXES) and n not in KEPT]:
    del os.environ[_name]
os.environ["LLM_PROXY_ENV_FILE"] = os.devnull
os.environ["DJANGO_SETTINGS_MODULE"] = "llmproxy_site.settings"  # for child processes; this one is configured

from llmproxy_site.settings import *  # noqa: E402,F403

# Every response of the full stack is scanned for the suite's secrets (tests/secret_scan.py).
MIDDLEWARE = ["tests.secret_scan.ScanResponsesMiddleware", *MIDDLEWARE]  # noqa: F405

# A fixed key-encryption key: the suite never writes a KEK file into the clone (proxy_app/sealed_fields.py).
PROXY_KEK = ["test-kek-for-the-suite-only-0123456789abcdef"]
