"""Celery tasks: rollups and purges (scheduled by CELERY_BEAT_SCHEDULE, or in-process without a broker)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from usage_app import stats

logger = logging.getLogger("llmproxy.usage.tasks")


@shared_task(name="usage_app.rollup_usage")
def rollup_usage(full: bool = False) -> dict[str, Any]:
    result = stats.usage_rollup(full=full)
    if result.busy:
        return {"busy": True}
    logger.info("usage rollup: %d hour(s), %d day(s), %d row(s), rolled until %s",
                result.hours, result.days, result.rows, result.rolled_until)
    return {"hours": result.hours, "days": result.days, "rows": result.rows,
            "rolled_until": result.rolled_until.isoformat() if result.rolled_until else None}


@shared_task(name="usage_app.purge_raw_usage")
def purge_raw_usage() -> int:
    return stats.usage_purge_raw(retention_days=settings.USAGE_RETENTION_DAYS)


@shared_task(name="usage_app.purge_captured_bodies")
def purge_captured_bodies() -> int:
    return stats.usage_purge_captures(retention_days=settings.USAGE_CAPTURE_RETENTION_DAYS)
