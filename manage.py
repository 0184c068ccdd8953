#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

``--config FILE`` (anywhere on the command line, for any command) names the proxy's configuration
file, as ``LLM_PROXY_CONFIG`` does; a file that does not validate stops here with its errors, one
line each (``proxy.yaml:12: backends.local.base_url: ...``), and exit status 2, as any setting that
cannot be used does (``configuration error: ...``).
"""

import os
import sys


def take_config_option(argv: list[str]) -> list[str]:
    """``argv`` without ``--config FILE`` / ``--config=FILE``, which goes to ``LLM_PROXY_CONFIG``."""
    out, args = [], iter(argv)
    for arg in args:
        if arg == "--config" or arg.startswith("--config="):
            path = arg.partition("=")[2] if "=" in arg else next(args, "")
            if not path:
                sys.exit("error: --config needs a file")
            os.environ["LLM_PROXY_CONFIG"] = os.path.abspath(path)
        else:
            out.append(arg)
    return out


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmproxy_site.settings")
    argv = take_config_option(sys.argv)
    if os.environ.get("LLM_PROXY_CONFIG") and argv[1:2] != ["check_config"]:
        from proxy_app.core.file_config import ConfigError, load_config

        try:
            load_config(os.environ["LLM_PROXY_CONFIG"])
        except ConfigError as exc:
            print(f"configuration error:\n{exc}", file=sys.stderr)
            sys.exit(2)
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:  # a bad setting: one line, not a traceback
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
