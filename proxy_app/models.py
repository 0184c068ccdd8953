"""Durable proxy configuration: client access keys and operator-defined backends."""

from __future__ import annotations

from django.db import models

from proxy_app.sealed_fields import SealedTextField


class ProxyKey(models.Model):
    """A key clients present to the proxy; only its SHA-256 hash is stored."""

    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_hint = models.CharField(max_length=16, editable=False, help_text="Masked form, e.g. lip...abcd")
    project = models.CharField(max_length=100, blank=True, help_text="Default project for usage records")
    is_admin = models.BooleanField(default=False, help_text="Sees every usage record and may edit global routes")
    can_change_shared_state = models.BooleanField(
        default=True, help_text="May run commands that change shared state (failover routes, aliases)"
    )
    allowed_models = models.JSONField(default=list, blank=True, help_text="Empty = every model")
    rate_limit_rpm = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per minute")
    budget_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    byok_allowed = models.BooleanField(
        default=False, verbose_name="may bring its own provider key",
        help_text="Requests may carry their own provider key in X-Upstream-Api-Key (used for that request only)",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    from_config_file = models.BooleanField(
        default=False, editable=False,
        help_text="Defined in the configuration file: edit the file (this row follows it at each start)",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_hint})"


class Backend(models.Model):
    """An operator-defined backend (e.g. a local OpenAI-compatible server), added in the admin."""

    PROTOCOLS = [("openai_chat", "OpenAI-compatible"), ("anthropic", "Anthropic Messages"), ("gemini", "Gemini")]

    name = models.SlugField(max_length=50, unique=True, help_text="Used as the prefix in backend:model")
    protocol = models.CharField(max_length=20, choices=PROTOCOLS, default="openai_chat")
    base_url = models.URLField(max_length=500)
    extra_headers = models.JSONField(default=dict, blank=True)
    model_names = models.JSONField(default=list, blank=True, help_text="Models to list when the server has no /models")
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.protocol} @ {self.base_url})"


class BackendKey(models.Model):
    """An API key for an environment-defined or admin-defined backend, masked everywhere it is shown."""

    backend_name = models.SlugField(max_length=50, help_text="openai, openrouter, anthropic, gemini or a custom backend")
    label = models.CharField(max_length=100, blank=True)
    secret = SealedTextField(help_text="Sealed at rest under the key-encryption key (PROXY_KEK)")
    key_hint = models.CharField(max_length=16, editable=False)
    is_enabled = models.BooleanField(default=True)
    invalid_since = models.DateTimeField(null=True, blank=True, help_text="Set when the provider answered 401/403")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["backend_name", "id"]

    def __str__(self) -> str:
        return f"{self.backend_name} key {self.key_hint}"


class ModelDefaults(models.Model):
    """Defaults for requests to matching models, used when neither the request nor the session sets them."""

    EFFORTS = [("minimal", "minimal"), ("low", "low"), ("medium", "medium"), ("high", "high")]

    backend = models.SlugField(max_length=50, blank=True, help_text="Empty = any backend")
    model_pattern = models.CharField(max_length=200, help_text="Model name or glob, e.g. gpt-4o* or claude-*")
    temperature = models.FloatField(null=True, blank=True)
    reasoning_effort = models.CharField(max_length=10, choices=EFFORTS, blank=True)
    thinking_budget = models.PositiveIntegerField(null=True, blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["backend", "model_pattern"]
        verbose_name_plural = "model defaults"

    def __str__(self) -> str:
        return f"defaults for {self.backend or '*'}:{self.model_pattern}"
