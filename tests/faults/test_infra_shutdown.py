"""SIGTERM to the real ``runproxy`` while streams are in flight: new connections are refused at once, the
streams finish (or, past ``SHUTDOWN_GRACE_SECONDS``, end without pretending to be complete), the
process exits within a bounded time, and every request has exactly one usage record."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import Fakes
from tests.processes import PROXY_KEY, ProxyProcess, proxy_env, usage_rows, wait_for

pytestmark = pytest.mark.slow

SLOW_STREAM_SECONDS = 8.0  # the fakes' [[slow]] answer: 400 deltas 20 ms apart
FLUSH_SECONDS = 5.0


@dataclass
class Outcome:
    body: bytes = b""
    error: str = ""

    @property
    def complete(self) -> bool:
        return not self.error and self.body.endswith(b"data: [DONE]\n\n")

    @property
    def ended_with_error_event(self) -> bool:
        return not self.error and self.body.rsplit(b"\n\n", 2)[-2].startswith(b'data: {"error"')


def stream_in_background(proxy: ProxyProcess, text: str) -> tuple[threading.Thread, Outcome]:
    outcome = Outcome()

    def run() -> None:
        try:
            with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", timeout=30,
                              headers={"Authorization": f"Bearer {PROXY_KEY}"},
                              json={"model": "gpt-4o", "stream": True,
                                    "messages": [{"role": "user", "content": text}]}) as response:
                assert response.status_code == 200
                for chunk in response.iter_raw():
                    outcome.body += chunk
        except httpx.HTTPError as exc:
            outcome.error = repr(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def refused(proxy: ProxyProcess) -> bool:
    try:
        httpx.get(f"{proxy.url}/healthz", timeout=2)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:  # accepted, then nothing: queued on a socket no server reads any more
        return False
    return False


def start(tmp_path: Path, fakes: Fakes, *args: str, grace: float) -> ProxyProcess:
    fakes.openai.reset()
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY="sk-shutdown-00000000000000001", LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY,
                    SHUTDOWN_GRACE_SECONDS=str(grace), USAGE_SHUTDOWN_FLUSH_SECONDS=str(FLUSH_SECONDS))
    proxy = ProxyProcess(env, *args)
    proxy.wait_ready(60)
    return proxy


def sigterm_under_load(proxy: ProxyProcess, streams: int) -> tuple[list[Outcome], float, str]:
    """``streams`` slow streams in flight, then SIGTERM: the outcomes, the seconds to exit, the output."""
    started = [stream_in_background(proxy, f"[[slow]] stream {i}") for i in range(streams)]
    assert wait_for(lambda: all(o.body for _, o in started), 10), "the streams are under way"
    sent = time.monotonic()
    proxy.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert refused(proxy), "new connections are refused once the shutdown has begun"
    out, _ = proxy.proc.communicate(timeout=60)
    exited = time.monotonic() - sent
    for thread, _ in started:
        thread.join(10)
    return [o for _, o in started], exited, out or ""


@pytest.mark.parametrize(("server", "workers"), [("daphne", "1"), ("daphne", "2"), ("uvicorn", "1")])
def test_sigterm_lets_the_streams_in_flight_finish_and_records_each_request_once(
    server: str, workers: str, tmp_path: Path, fakes: Fakes,
) -> None:
    proxy = start(tmp_path, fakes, "--server", server, "--workers", workers, grace=20)
    try:
        outcomes, exited, out = sigterm_under_load(proxy, 3)
    finally:
        if proxy.proc.poll() is None:
            proxy.stop()
    assert proxy.proc.returncode == 0, out
    assert [o.complete for o in outcomes] == [True] * 3, [(o.error, o.body[-200:]) for o in outcomes]
    assert exited < SLOW_STREAM_SECONDS + FLUSH_SECONDS, f"exited {exited:.1f} s after SIGTERM"
    assert usage_rows(tmp_path / "proxy.sqlite3") == 3, "one usage record per request, written before exit"


def test_streams_outliving_the_grace_period_are_ended_not_cut_silently_and_the_exit_is_bounded(
    tmp_path: Path, fakes: Fakes,
) -> None:
    grace = 1.0
    proxy = start(tmp_path, fakes, grace=grace)
    try:
        outcomes, exited, out = sigterm_under_load(proxy, 3)
    finally:
        if proxy.proc.poll() is None:
            proxy.stop()
    assert proxy.proc.returncode == 0, out
    for outcome in outcomes:
        assert not outcome.complete, "the streams outlive the grace period"
        # Never a body that ends cleanly without its stream's end: the client learns it was cut short from
        # its protocol's error event, saying to retry.
        assert outcome.ended_with_error_event and b"shutting down" in outcome.body, (outcome.error, outcome.body[-300:])
    assert exited < grace + 2.0 + FLUSH_SECONDS, f"exited {exited:.1f} s after SIGTERM"
    assert "still running after the 1 s grace period: ending them" in out
    assert usage_rows(tmp_path / "proxy.sqlite3") == 3, "one usage record per request, written before exit"
