"""A library transport's response body, read through one iterator from first chunk to last."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import httpx


class ResumableBody(httpx.AsyncByteStream):
    """``stream`` (httpx's or httpx-aiohttp's response stream) read through one iterator.

    Their ``__aiter__`` starts a new async generator at every ``async for``. One left suspended
    when a reader stops early (the SSE reader stops at ``[DONE]``) is closed later by asyncio's
    finaliser, and httpx's then closes the response and its connection in the middle of whatever
    reads next. Kept as one iterator, reading can resume where it stopped (the client drains a
    stream's chunked terminator so its connection is kept), and ``aclose`` ends it at once."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream
        self._chunks: AsyncIterator[bytes] = stream.__aiter__()

    def __aiter__(self) -> ResumableBody:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        if isinstance(self._chunks, AsyncGenerator):
            await self._chunks.aclose()
        await self._stream.aclose()
