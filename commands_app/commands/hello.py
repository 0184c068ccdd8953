"""``hello``: a banner with the proxy version, the session and the working backends."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from commands_app.parser import Command
from commands_app.registry import CommandContext, command


def proxy_version() -> str:
    try:
        return version("llm-interactive-proxy")
    except PackageNotFoundError:
        return "dev"


@command("hello", summary="show the proxy version, this session and the available backends")
async def run(cmd: Command, ctx: CommandContext) -> str:
    models = await ctx.backends.list_models()
    lines = [f"llm-interactive-proxy {proxy_version()}", f"session: {ctx.session.session_id}", "backends:"]
    for name, runtime in ctx.backends.backends.items():
        count = sum(1 for backend, _ in models if backend == name)
        state = runtime.key_states()
        lines.append(f"  {name} ({runtime.protocol}): {runtime.key_count} key(s) [{state}], {count} model(s)")
    if ctx.backends.default_backend:
        lines.append(f"default backend: {ctx.backends.default_backend}")
    return "\n".join(lines)
