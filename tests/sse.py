"""Server-sent events as a client reads them, strictly: the tests' parser of the proxy's streams."""

from __future__ import annotations


def sse_events(raw: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE event; raises ValueError on a line that is not SSE."""
    events = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line and not line.startswith(":"):
                raise ValueError(f"not an SSE line: {line[:120]!r}")
        events.append((name, "\n".join(data)))
    return events
