"""A bounded soak of the real server (Daphne ``runproxy``) with upstream faults: every answer in its
protocol's shape, no crash, exactly one usage record per request.

``SOAK_REQUESTS`` sets the number of requests (2,000 by default; the full run is
``SOAK_REQUESTS=20000 .venv/bin/python -m pytest -s tests/faults/test_soak.py``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Fakes
from tests.faults.soak import SOAK_REQUESTS, LoggedProxy, load_env, plan_shots, run_load, summary, usage_sessions

PROXY_KEY = "lip-soak-proxy-key-00000000000000001"


@pytest.mark.slow
def test_a_soak_with_faults_answers_in_every_protocols_shape_and_records_each_request_once(
    tmp_path: Path, fakes: Fakes
) -> None:
    for fake in fakes.all():
        fake.reset()
    proxy = LoggedProxy(load_env(tmp_path, fakes, PROXY_KEY), tmp_path / "proxy.log")
    try:
        proxy.wait_ready()
        shots = plan_shots(SOAK_REQUESTS, tag="soak")
        started = time.perf_counter()
        outcomes = asyncio.run(run_load(proxy.url, PROXY_KEY, shots, concurrency=24))
        elapsed = time.perf_counter() - started
        print(f"\nsoak: {summary(outcomes, elapsed)}")
        assert httpx.get(f"{proxy.url}/healthz", timeout=5).status_code == 200
        assert proxy.proc.poll() is None, "the proxy is still running"
    finally:
        output = proxy.stop()

    problems = [(o.shot, o.status, o.problem or o.broken) for o in outcomes if o.problem or o.broken]
    assert not problems, f"{len(problems)} answers broken or outside their protocol's shape: {problems[:5]}"
    unexpected = [(o.shot, o.status) for o in outcomes if o.failed != (o.shot.fault is not None)]
    assert not unexpected, f"faulted requests fail and only they do; {len(unexpected)} did not: {unexpected[:5]}"
    assert proxy.proc.returncode == 0
    assert "Traceback" not in output, output[-3000:]

    with sqlite3.connect(tmp_path / "proxy.sqlite3") as db:
        records = usage_sessions(db.execute("SELECT session_id FROM usage_app_usagerecord"), "soak")
    missing = [s.session for s in shots if records[s.session] == 0]
    doubled = [session for session, n in records.items() if n > 1]
    assert not missing and not doubled, f"{len(missing)} requests without a usage record ({missing[:5]}), " \
                                        f"{len(doubled)} with several ({doubled[:5]})"
    assert len(records) == len(shots)
