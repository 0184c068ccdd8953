"""With no Celery broker, run the rollup and purges in-process on a timer thread."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger("llmproxy.usage.scheduler")

_thread: threading.Thread | None = None
_stop = threading.Event()
_lock = threading.Lock()


def _enabled() -> bool:
    return not settings.CELERY_BROKER_URL and settings.USAGE_ROLLUP_INTERVAL_SECONDS > 0


def run_maintenance() -> None:
    """One rollup plus the purges, as the beat schedule runs them with a broker."""
    from usage_app import tasks

    tasks.rollup_usage()
    tasks.purge_raw_usage()
    tasks.purge_captured_bodies()


def _loop() -> None:
    from django.db import connection

    while not _stop.wait(settings.USAGE_ROLLUP_INTERVAL_SECONDS):
        try:
            run_maintenance()
        except Exception:
            logger.exception("in-process usage rollup failed; retrying next interval")
        finally:
            connection.close()


def ensure_started() -> None:
    """Start the timer thread once per process (called by the recorder on its first record)."""
    global _thread
    if _thread is not None or not _enabled():
        return
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_loop, name="usage-rollup-timer", daemon=True)
            _thread.start()
