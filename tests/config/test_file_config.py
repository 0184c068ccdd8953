"""The configuration file's schema and loader: every option documented, errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from pydantic import BaseModel

from proxy_app.core.file_config import (
    SETTINGS,
    ConfigError,
    ProxyConfig,
    apply_as_environment_defaults,
    load_config,
    settings_defaults,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "proxy.example.yaml"
EXAMPLE_ENV = {"OPENAI_API_KEY": "sk-one-0000000001", "OPENAI_API_KEY_2": "sk-two-0000000002",
               "ANTHROPIC_API_KEY": "sk-ant-0000000003", "GEMINI_API_KEY": "AIza-0000000004",
               "CI_PROXY_KEY": "lip-ci-0000000005"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proxy.yaml"
    path.write_text(text)
    return path


def field_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, info in model.model_fields.items():
        inner = info.annotation
        out.append((*prefix, name))
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out += field_paths(inner, (*prefix, name))
    return out


def test_the_example_validates_and_documents_every_option() -> None:
    loaded = load_config(EXAMPLE, EXAMPLE_ENV)
    data = yaml.safe_load(EXAMPLE.read_text())
    backend_fields = {name for b in data["backends"].values() for name in b}
    key_fields = {name for k in data["keys"] for name in k}
    from proxy_app.core.file_config import BackendConfig, KeyConfig, RouteConfig

    assert set(BackendConfig.model_fields) <= backend_fields, "every backend option appears in the example"
    assert set(KeyConfig.model_fields) <= key_fields
    assert set(RouteConfig.model_fields) <= {name for r in data["routes"].values() for name in r}
    for path in field_paths(ProxyConfig):
        node: Any = data
        for part in path:
            assert isinstance(node, dict) and part in node, f"{'.'.join(path)} is missing from proxy.example.yaml"
            node = node[part]
    assert loaded.secret("os.environ/CI_PROXY_KEY") == "lip-ci-0000000005"


def test_every_file_setting_is_a_real_setting() -> None:
    for name in [*SETTINGS.values(), "DISABLE_INTERACTIVE_COMMANDS"]:
        if name == "LOG_LEVEL":  # read into LOGGING, not a setting of its own
            assert (ROOT / "llmproxy_site" / "settings.py").read_text().count('env("LOG_LEVEL"') == 2
            continue
        assert hasattr(settings, name), f"{name} is not a Django setting"


@pytest.mark.parametrize(("text", "expected"), [
    ("backends:\n  local:\n    type: openai_compatible\n", "proxy.yaml:3: backends.local: Value error, an openai_compatible backend needs a base_url"),
    ("server:\n  default_backend: openai\n  colour: blue\n", "proxy.yaml:3: server.colour: Extra inputs are not permitted"),
    ("timeouts:\n  connect: -1\n", "proxy.yaml:2: timeouts.connect: Input should be greater than 0"),
    ("keys:\n  - name: ci\n    key: lip-literal-key\n", "proxy.yaml:3: keys[0].key: String should match pattern"),
    ("routes:\n  r:\n    policy: z\n    elements: [openai:gpt-4o]\n", "proxy.yaml:3: routes.r.policy: Input should be 'k', 'm', 'km' or 'mk'"),
    ("backends:\n  o:\n    type: openai\n    keys: [os.environ/NOT_SET_ANYWHERE_X]\n", "proxy.yaml:4: backends.o.keys[0]: NOT_SET_ANYWHERE_X is not set"),
    ("server: [\n", "proxy.yaml:2: not valid YAML"),
    ("- a\n- b\n", "proxy.yaml:1: the file must be a mapping"),
])
def test_errors_name_the_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    message = str(caught.value)
    assert message.startswith(str(path.parent) + "/"), message
    assert expected in message.replace(str(path.parent) + "/", ""), message


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path / "nope.yaml", {})


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "timeouts:\n  total: 300\nserver:\n  interactive_commands: false\n"), {}).config
    assert settings_defaults(config) == {"PROXY_TIMEOUT": "300.0", "DISABLE_INTERACTIVE_COMMANDS": "true"}
    environ = {"PROXY_TIMEOUT": "42"}
    assert apply_as_environment_defaults(config, environ) == ["PROXY_TIMEOUT"]
    assert environ == {"PROXY_TIMEOUT": "42", "DISABLE_INTERACTIVE_COMMANDS": "true"}


def test_names_must_not_clash(tmp_path: Path) -> None:
    text = "aliases:\n  fast: openai:gpt-4o\nroutes:\n  fast:\n    elements: [openai:gpt-4o]\n"
    with pytest.raises(ConfigError, match="both an alias and a route: fast"):
        load_config(write(tmp_path, text), {})


def test_a_file_route_can_switch_prompt_compaction_on(settings: Any) -> None:
    from commands_app.routes import file_routes

    settings.PROXY_FILE_CONFIG = load_config(EXAMPLE, EXAMPLE_ENV)
    assert {route.name: route.compact for route in file_routes()} == {"coding": True}
