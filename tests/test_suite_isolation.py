"""The suite means the same on a configured developer machine as on a clean one.

A developer who set the proxy up has a ``.env`` with a proxy key and backends, and often the same
variables exported. The suite used to read both: with a proxy key configured, requests the tests send
without one were refused with 401 instead of the 400/413 the tests check. ``tests/settings.py`` now
drops that configuration before the settings load; this runs pytest as the developer would, with
both a ``.env`` and exported variables, and checks that none of it reaches the settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = '''
import os
from django.conf import settings

def test_no_developer_configuration_reaches_the_settings():
    assert settings.SETTINGS_MODULE == "tests.settings"
    assert settings.LLM_INTERACTIVE_PROXY_API_KEY == ""
    assert settings.LLM_BACKEND in ("", None)
    assert not any(name.startswith(("OPENAI_", "ANTHROPIC_", "LLM_INTERACTIVE")) for name in os.environ)
'''


def test_a_developers_env_file_and_exported_keys_do_not_reach_the_suite(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LLM_INTERACTIVE_PROXY_API_KEY=lip-from-the-env-file\nLLM_BACKEND=anthropic\n")
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {**os.environ, "LLM_PROXY_ENV_FILE": str(env_file), "LLM_INTERACTIVE_PROXY_API_KEY": "lip-exported",
           "OPENAI_API_KEY": "sk-exported-by-the-developer", "LLM_BACKEND": "openai"}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # as in a fresh shell: pytest takes it from pyproject.toml
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
         "-c", str(ROOT / "pyproject.toml"), str(probe)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
