"""Paced streaming upstream (aiohttp, uvloop if present) for the streaming scenarios.

nginx serves the fixed non-stream JSON and the un-paced SSE bodies; it cannot space chunks out
in time, so this process answers the streaming scenarios:

* ``POST /v1/chat/completions``: OpenAI JSON, or (``"stream": true``) ``--chunks`` SSE chunks
  ``--gap`` seconds apart, then ``data: [DONE]``.
* ``POST /v1/messages``: the same in Anthropic's message / event-stream format.
* ``GET /healthz``.

With ``--stamp`` the OpenAI stream's content chunks carry this machine's clock instead of words:
each chunk's text is the ``time.time()`` it was sent at, and the first one's is
``<request received>/<sent>``, so the stream client can split a proxy's first-token overhead into
the request's way in and each token's way out (the bench's ``ttft`` scenario).

Run: ``python bench/upstream.py --port 18001 --chunks 30 --gap 1.0``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402


def make_app(chunks: int, gap: float, stamp: bool = False) -> web.Application:
    oa_json = fixtures.openai_completion().encode()
    an_json = fixtures.anthropic_message().encode()
    oa_frames = [f.encode() for f in fixtures.openai_sse_events(chunks)]
    an_frames = [f.encode() for f in fixtures.anthropic_sse_events(chunks)]

    async def stream(request: web.Request, frames: list[bytes], received: float | None = None) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        # first frame immediately (role / message_start), then the content frames paced by --gap
        for i, frame in enumerate(frames):
            if gap and 0 < i < len(frames) - 1:
                await asyncio.sleep(gap)
            if received is not None and 0 < i <= chunks:
                sent = f"{time.time():.6f} "
                frame = fixtures.openai_content_frame(f"{received:.6f}/{sent}" if i == 1 else sent).encode()
            await resp.write(frame)
        await resp.write_eof()
        return resp

    async def chat(request: web.Request) -> web.StreamResponse:
        received = time.time()
        body = json.loads(await request.read() or b"{}")
        if body.get("stream"):
            return await stream(request, oa_frames, received if stamp else None)
        return web.Response(body=oa_json, content_type="application/json")

    async def messages(request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read() or b"{}")
        if body.get("stream"):
            return await stream(request, an_frames)
        return web.Response(body=an_json, content_type="application/json")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    for prefix in ("/v1", "/sse/v1"):
        app.router.add_post(prefix + "/chat/completions", chat)
        app.router.add_post(prefix + "/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--gap", type=float, default=0.0, help="seconds between content chunks")
    ap.add_argument("--stamp", action="store_true", help="OpenAI content chunks carry receive/send times")
    a = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(make_app(a.chunks, a.gap, a.stamp), host="127.0.0.1", port=a.port, backlog=4096,
                access_log=None, print=None)


if __name__ == "__main__":
    main()
