#!/usr/bin/env python3
"""Where the proxy's CPU goes, from ``run.py --profile``'s folded stacks, by layer.

    .venv/bin/python bench/profile_shares.py bench/results/profile.collapsed.txt [more.collapsed.txt ...]

Each sample is counted in the innermost layer its stack passes through (a regex called from the
redactor counts as the pipeline; a socket write called from the upstream transport as the event loop). A sample
whose innermost frame is the Twisted reactor's ``run`` is uvloop's C loop (polling and dispatching
callbacks), which py-spy cannot see into: it counts as the event loop.
"""

from __future__ import annotations

import collections
import re
import sys

LAYERS = [  # (layer, path prefixes), first match wins
    ("usage recording", ("usage_app/", "prometheus_client/")),
    ("translation", ("proxy_app/translation/",)),
    ("upstream HTTP", ("proxy_app/http_client.py", "proxy_app/http1_transport.py", "proxy_app/aiohttp_transport.py",
                       "httpx/", "httptools/", "aiohttp/", "yarl/", "multidict/", "h11/", "httpcore/")),
    ("pipeline", ("proxy_app/", "commands_app/", "llmproxy_site/")),
    ("Django", ("django/", "asgiref/", "channels/")),
    ("Daphne/Twisted", ("daphne/", "twisted/", "zope/")),
    ("event loop", ("asyncio/", "selectors.py", "uvloop/")),
]
FRAME_PATH = re.compile(r"\(([^()]*):\d+\)$")


def layer(frames: list[str]) -> str:
    if frames[-1].startswith("AsyncioSelectorReactor.run "):
        return "event loop"
    if any(frame.startswith("Recorder._run ") for frame in frames):
        return "usage recording"  # the writer thread
    for frame in reversed(frames):
        match = FRAME_PATH.search(frame)
        path = match.group(1) if match else frame
        for name, prefixes in LAYERS:
            if any(path.startswith(p) or "/" + p in path for p in prefixes):
                return name
    return "other"


def shares(path: str) -> tuple[int, collections.Counter[str]]:
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip().rpartition(" ")
            frames = [fr for fr in stack.split(";") if not fr.startswith("thread ")]
            if frames:
                counts[layer(frames)] += int(n)
                total += int(n)
    return total, counts


def main() -> None:
    for path in sys.argv[1:]:
        total, counts = shares(path)
        print(f"{path}: {total} samples")
        for name, n in counts.most_common():
            print(f"  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
