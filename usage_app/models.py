"""Usage records (one per client request), their hourly/daily rollups, prices and captured bodies."""

from __future__ import annotations

from django.db import models


class UsageRecord(models.Model):
    """One client request as the proxy saw it. Never holds a key: only ids, labels and masked hints."""

    created_at = models.DateTimeField(db_index=True)
    proxy_key_id = models.IntegerField(null=True, blank=True)
    owner = models.CharField(max_length=120, blank=True, help_text="Proxy key owner label, never the key")
    project = models.CharField(max_length=100, blank=True)
    user = models.CharField(max_length=200, blank=True)
    session_id = models.CharField(max_length=200, blank=True)
    protocol = models.CharField(max_length=30)
    path = models.CharField(max_length=300)
    requested_model = models.CharField(max_length=200, blank=True)
    backend = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_log = models.JSONField(default=list, blank=True)
    key_hint = models.CharField(max_length=20, blank=True, help_text="Masked backend key")
    byok = models.BooleanField(default=False, help_text="Served with the client's own provider key (never recorded)")
    affinity = models.CharField(
        max_length=20, blank=True, default="",
        help_text="The conversation's backend key: kept, new, or moved and why (cooling, invalid, failing, gone)",
    )
    status = models.PositiveSmallIntegerField(default=200)
    error_type = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    stream = models.BooleanField(default=False)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0, help_text="Input tokens read from the prompt cache")
    cache_write_tokens = models.PositiveIntegerField(default=0, help_text="Input tokens written to the prompt cache")
    reasoning_tokens = models.PositiveIntegerField(default=0)
    tokens_estimated = models.BooleanField(default=False)
    cost_usd = models.DecimalField(
        max_digits=14, decimal_places=8, null=True, blank=True, help_text="NULL when the model's price is unknown"
    )
    cache_saved_usd = models.DecimalField(
        max_digits=14, decimal_places=8, null=True, blank=True,
        help_text="What prompt caching saved against the uncached price (negative when writes cost more); "
                  "NULL when the model's price is unknown",
    )
    latency_ms = models.FloatField(default=0.0)
    ttft_ms = models.FloatField(null=True, blank=True)
    loop_halts = models.PositiveSmallIntegerField(default=0)
    loop_halt_kind = models.CharField(
        max_length=20, blank=True, default="",
        help_text="Which guard halted the answer: tool_loop, cycle, no_progress, text_loop or paraphrase",
    )
    redactions = models.PositiveIntegerField(default=0)
    compacted_tokens = models.PositiveIntegerField(
        default=0, help_text="estimated prompt tokens prompt compaction left out of old tool results")
    answered_by_proxy = models.BooleanField(default=False)
    client_disconnected = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "created_at"], name="usage_project_created"),
            models.Index(fields=["proxy_key_id", "created_at"], name="usage_key_created"),
            models.Index(fields=["backend", "model", "created_at"], name="usage_backend_model_created"),
            models.Index(fields=["user", "created_at"], name="usage_user_created"),
            # a session's spend (its budget) and per-session stats
            models.Index(fields=["session_id", "proxy_key_id"], name="usage_session_key"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.backend}:{self.model} {self.status} [{self.project or '-'}]"

    @property
    def is_error(self) -> bool:
        return self.status >= 400


class UsageRollup(models.Model):
    """Sums over one hour or one day for one (proxy key, project, backend, model).

    ``user`` is deliberately not a dimension (it would multiply the row count); stats filtered
    by user read raw records.
    """

    HOUR = "hour"
    DAY = "day"
    PERIODS = [(HOUR, "hour"), (DAY, "day")]

    period = models.CharField(max_length=4, choices=PERIODS)
    period_start = models.DateTimeField()
    # 0 stands for "no proxy key" so the unique constraint works the same on every database.
    proxy_key_id = models.IntegerField(default=0)
    project = models.CharField(max_length=100, blank=True)
    backend = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=200, blank=True)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    cache_saved_usd = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    unpriced_requests = models.PositiveIntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0.0)
    latency_p50_ms = models.FloatField(null=True, blank=True)
    latency_p95_ms = models.FloatField(null=True, blank=True)
    latency_hist = models.JSONField(default=list, blank=True, help_text="Counts per usage_app.stats.LATENCY_BUCKETS")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start", "proxy_key_id", "project", "backend", "model"],
                name="usage_rollup_unique_group",
            )
        ]
        indexes = [models.Index(fields=["period", "period_start"], name="usage_rollup_period")]

    def __str__(self) -> str:
        return f"{self.period} {self.period_start:%Y-%m-%d %H:%M} {self.backend}:{self.model} x{self.requests}"


class RollupState(models.Model):
    """How far raw records have been rolled up: everything before ``rolled_until`` is in the rollups."""

    name = models.CharField(max_length=30, unique=True, default="default")
    rolled_until = models.DateTimeField(null=True, blank=True)
    last_record_id = models.BigIntegerField(default=0, help_text="Highest record id seen by the last rollup")
    # The rollup under way anywhere (another process, another instance on the same database) holds this
    # lease; a rollup that cannot take it leaves the work to that one. Expires on its own after a crash.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"rolled up until {self.rolled_until}"


class ModelPrice(models.Model):
    """Price per million tokens; ``admin`` rows override the seeded list from genai-prices."""

    SEEDED = "seeded"
    ADMIN = "admin"
    SOURCES = [(SEEDED, "seeded"), (ADMIN, "admin")]

    backend = models.CharField(max_length=50)
    model = models.CharField(max_length=200)
    input_per_mtok = models.DecimalField(max_digits=12, decimal_places=6)
    output_per_mtok = models.DecimalField(max_digits=12, decimal_places=6)
    cached_per_mtok = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True, help_text="Empty = input price"
    )
    reasoning_per_mtok = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True, help_text="Empty = output price"
    )
    source = models.CharField(max_length=10, choices=SOURCES, default=ADMIN)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["backend", "model"]
        constraints = [models.UniqueConstraint(fields=["backend", "model"], name="usage_price_unique_model")]

    def __str__(self) -> str:
        return f"{self.backend}:{self.model} ${self.input_per_mtok}/${self.output_per_mtok} per MTok ({self.source})"


class CapturedExchange(models.Model):
    """Prompt and answer bodies, stored only with USAGE_CAPTURE_BODIES=true and purged after retention."""

    record = models.OneToOneField(UsageRecord, on_delete=models.CASCADE, related_name="capture")
    created_at = models.DateTimeField(db_index=True)
    prompt = models.JSONField(null=True, blank=True)
    answer = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"capture of request {self.record_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
