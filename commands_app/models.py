"""Sessions steered by in-chat commands, failover routes and command aliases."""

from __future__ import annotations

from django.db import models

POLICIES = [
    ("k", "k – first element, every key"),
    ("m", "m – every element, first available key"),
    ("km", "km – every element, every key"),
    ("mk", "mk – keys interleaved across elements"),
]


class Session(models.Model):
    """A chat session (``X-Session-ID``) and the overrides its commands set."""

    session_id = models.CharField(max_length=200)
    owner = models.ForeignKey("proxy_app.ProxyKey", null=True, blank=True, on_delete=models.CASCADE)
    overrides = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "session_id"], name="unique_session_per_owner",
                                               nulls_distinct=False)]
        ordering = ["-last_used_at"]

    def __str__(self) -> str:
        return f"session {self.session_id}"


class FailoverRoute(models.Model):
    """A named route usable as a model name; ``owner`` NULL makes it global (admin-made)."""

    name = models.CharField(max_length=100)
    policy = models.CharField(max_length=2, choices=POLICIES, default="m")
    owner = models.ForeignKey("proxy_app.ProxyKey", null=True, blank=True, on_delete=models.CASCADE)
    compact = models.BooleanField(
        default=False, help_text="Compact old, large tool results of the requests to this route (a session's "
                                 "!/set(compact=...) wins)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_route_per_owner",
                                               nulls_distinct=False)]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.policy})"


class FailoverRouteElement(models.Model):
    route = models.ForeignKey(FailoverRoute, related_name="elements", on_delete=models.CASCADE)
    position = models.PositiveIntegerField(default=0)
    target = models.CharField(max_length=300, help_text="backend:model")

    class Meta:
        ordering = ["route", "position", "id"]

    def __str__(self) -> str:
        return f"{self.route.name}[{self.position}] = {self.target}"


class CommandAlias(models.Model):
    """``!/name`` expands to ``command`` (e.g. ``fast`` -> ``set(model=openai:gpt-4o-mini)``)."""

    name = models.SlugField(max_length=50)
    command = models.CharField(max_length=500, help_text="What it expands to, without the prefix")
    owner = models.ForeignKey("proxy_app.ProxyKey", null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_alias_per_owner",
                                               nulls_distinct=False)]
        ordering = ["name"]
        verbose_name_plural = "command aliases"

    def __str__(self) -> str:
        return f"!/{self.name} → {self.command}"
