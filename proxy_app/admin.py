"""Admin for proxy keys, backends and backend keys: secrets are never shown after they are entered."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from proxy_app.core.secrets import mask_secret
from proxy_app.models import Backend, BackendKey, ModelDefaults, ProxyKey
from proxy_app.operations.backend_overview import environment_backends
from proxy_app.providers.key_state import key_fingerprint, key_state
from proxy_app.services import backend_key_set_secret, proxy_key_create, proxy_key_revoke

admin.site.site_header = "llm-interactive-proxy"
admin.site.site_title = "llm-interactive-proxy admin"


@admin.register(ProxyKey)
class ProxyKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_hint", "project", "is_admin", "is_active", "rate_limit_rpm", "budget_usd",
                    "from_config_file", "created_at")
    list_filter = ("is_active", "is_admin", "byok_allowed", "from_config_file")
    search_fields = ("name", "project", "key_hint")
    readonly_fields = ("key_hint", "created_at", "revoked_at", "from_config_file")
    fields = ("name", "project", "is_admin", "can_change_shared_state", "allowed_models", "rate_limit_rpm",
              "budget_usd", "byok_allowed", "is_active", "key_hint", "created_at", "revoked_at", "from_config_file")
    actions = ("revoke",)

    def has_change_permission(self, request: HttpRequest, obj: ProxyKey | None = None) -> bool:
        """A key of the configuration file follows the file: it is shown, not edited, here."""
        return not (obj is not None and obj.from_config_file) and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ProxyKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, plaintext = proxy_key_create(
            name=obj.name, project=obj.project, is_admin=obj.is_admin,
            can_change_shared_state=obj.can_change_shared_state, allowed_models=obj.allowed_models,
            rate_limit_rpm=obj.rate_limit_rpm, budget_usd=obj.budget_usd, byok_allowed=obj.byok_allowed,
        )
        obj.pk = created.pk
        obj.key_hash, obj.key_hint, obj.created_at = created.key_hash, created.key_hint, created.created_at
        messages.warning(request, f"New proxy key (shown only this once, copy it now): {plaintext}")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ProxyKey]) -> None:
        for key in queryset:
            proxy_key_revoke(key=key)
        self.message_user(request, f"{queryset.count()} key(s) revoked")


class BackendKeyForm(forms.ModelForm):
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False), required=False,
        help_text="Never shown again. Leave blank to keep the current secret.",
    )

    class Meta:
        model = BackendKey
        fields = ("backend_name", "label", "secret", "is_enabled")

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret", "")
        if not secret and not (self.instance and self.instance.pk):
            raise forms.ValidationError("A new backend key needs its secret.")
        return secret

    def save(self, commit: bool = True) -> BackendKey:
        key = super().save(commit=False)
        new_secret = self.cleaned_data.get("secret")
        if new_secret:
            backend_key_set_secret(key=key, secret=new_secret)
        elif key.pk:
            key.secret = BackendKey.objects.get(pk=key.pk).secret
        if commit:
            key.save()
        return key


class ListsEnvironmentBackends(admin.ModelAdmin):
    """A changelist that also shows the environment's backends and their keys (masked), read-only:
    they serve traffic but are not rows of the database, so the stock list alone would show none."""

    change_list_template = "admin/llmproxy/change_list_with_environment.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {**(extra_context or {}), "environment_backends": environment_backends()}
        return super().changelist_view(request, context)


@admin.register(BackendKey)
class BackendKeyAdmin(ListsEnvironmentBackends):
    form = BackendKeyForm
    list_display = ("backend_name", "label", "key_hint", "is_enabled", "state", "invalid_since", "created_at")
    list_filter = ("backend_name", "is_enabled")
    search_fields = ("backend_name", "label", "key_hint")
    actions = ("clear_state",)

    @admin.display(description="state")
    def state(self, obj: BackendKey) -> str:
        store = key_state()
        fingerprint = key_fingerprint(obj.secret)
        if obj.invalid_since or store.is_invalid(obj.backend_name, fingerprint):
            return "invalid"
        cooling = [u for (fp, _), u in store.marks(obj.backend_name).cooling.items() if fp == fingerprint]
        return "cooling" if cooling else "active"

    @admin.action(description="Clear cooldowns and invalid marks of the selected keys' backends")
    def clear_state(self, request: HttpRequest, queryset: QuerySet[BackendKey]) -> None:
        for backend in set(queryset.values_list("backend_name", flat=True)):
            key_state().clear(backend)
        queryset.update(invalid_since=None)
        self.message_user(request, "key state cleared")


class BackendForm(forms.ModelForm):
    """Extra headers often carry credentials: their values are write-only, like backend keys."""

    extra_headers = forms.JSONField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text='JSON object, e.g. {"Authorization": "Bearer ..."}. Current values are never shown; '
                  "leave blank to keep them, or enter {} to remove them.",
    )

    class Meta:
        model = Backend
        fields = ("name", "protocol", "base_url", "extra_headers", "model_names", "is_enabled")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["extra_headers"] = None

    def clean_extra_headers(self) -> dict[str, str]:
        value = self.cleaned_data.get("extra_headers")
        if value in (None, ""):
            return dict(self.instance.extra_headers or {}) if self.instance.pk else {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise forms.ValidationError("a JSON object of header names to string values")
        return value


@admin.register(Backend)
class BackendAdmin(ListsEnvironmentBackends):
    form = BackendForm
    list_display = ("name", "protocol", "base_url", "header_names", "is_enabled", "created_at")
    list_filter = ("protocol", "is_enabled")
    search_fields = ("name", "base_url")

    @admin.display(description="extra headers")
    def header_names(self, obj: Backend) -> str:
        return ", ".join(f"{name}: {mask_secret(value)}" for name, value in (obj.extra_headers or {}).items()) or "–"


@admin.register(ModelDefaults)
class ModelDefaultsAdmin(admin.ModelAdmin):
    list_display = ("backend", "model_pattern", "temperature", "reasoning_effort", "thinking_budget", "max_tokens")
    list_filter = ("backend",)
    search_fields = ("model_pattern",)
