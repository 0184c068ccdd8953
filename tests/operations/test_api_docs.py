"""``/api/docs``: the client-protocol endpoints are in the OpenAPI schema, and what it documents is what the proxy does."""

from __future__ import annotations

from typing import Any

import httpx
from openapi_spec_validator import validate

from tests.conftest import Proxy

CLIENT_OPERATIONS = {
    ("/v1/chat/completions", "post"), ("/v1/responses", "post"), ("/v1/models", "get"),
    ("/anthropic/v1/messages", "post"), ("/v1/messages", "post"),
    ("/anthropic/v1/messages/count_tokens", "post"), ("/v1/messages/count_tokens", "post"),
    ("/anthropic/v1/models", "get"), ("/v1beta/models", "get"),
    ("/v1beta/models/{model}:generateContent", "post"), ("/v1beta/models/{model}:streamGenerateContent", "post"),
    ("/v1beta/models/{model}:countTokens", "post"),
}
CLIENT_TAGS = {"OpenAI", "Anthropic", "Gemini"}


def auth(proxy: Proxy) -> dict[str, str]:
    return {"Authorization": f"Bearer {proxy.key}"}


def served_schema(proxy: Proxy) -> dict[str, Any]:
    response = httpx.get(f"{proxy.url}/api/schema/", params={"format": "json"}, headers=auth(proxy), timeout=10)
    assert response.status_code == 200
    return response.json()


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def client_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
            if CLIENT_TAGS & set(op.get("tags", []))]


def test_the_schema_documents_the_client_protocol_endpoints_and_still_validates(proxy: Proxy) -> None:
    spec = served_schema(proxy)
    validate(spec)
    assert CLIENT_OPERATIONS == {(path, method) for path, method, _ in client_operations(spec)}
    assert {"/usage/stats", "/usage/recent", "/audit/logs"} <= set(spec["paths"]), "the operator API is still there"
    schemes = spec["components"]["securitySchemes"]
    assert {(s["type"], s.get("scheme") or f"{s['in']}:{s['name']}") for s in schemes.values()} == {
        ("http", "bearer"), ("apiKey", "header:x-api-key"), ("apiKey", "header:x-goog-api-key"), ("apiKey", "query:key")}

    chat = spec["paths"]["/v1/chat/completions"]["post"]
    assert chat["security"][0] == {"proxyKey": []}
    assert chat["externalDocs"]["url"].startswith("https://platform.openai.com/docs/api-reference")
    body = resolve(spec, chat["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == {"model", "messages"} and "stream" in body["properties"]
    assert "text/event-stream" in chat["responses"]["200"]["content"], "streaming is documented"
    messages = spec["paths"]["/anthropic/v1/messages"]["post"]
    assert messages["security"][0] == {"xApiKey": []}
    assert set(resolve(spec, messages["requestBody"]["content"]["application/json"]["schema"])["required"]) == {
        "model", "max_tokens", "messages"}
    generate = spec["paths"]["/v1beta/models/{model}:generateContent"]["post"]
    assert generate["security"][:2] == [{"googApiKey": []}, {"keyQuery": []}]
    assert [p["name"] for p in generate["parameters"]] == ["model"]
    assert "alt" in [p["name"] for p in spec["paths"]["/v1beta/models/{model}:streamGenerateContent"]["post"]["parameters"]]
    assert {t["name"] for t in spec["tags"]} >= CLIENT_TAGS
    docs = httpx.get(f"{proxy.url}/api/docs/", headers=auth(proxy), timeout=10)
    assert docs.status_code == 200 and "/api/schema/" in docs.text


def answers_as_documented(spec: dict[str, Any], documented: dict[str, Any], answer: Any) -> bool:
    """``answer`` has the top-level fields ``documented`` requires (of one alternative, for a ``oneOf``)."""
    documented = resolve(spec, documented)
    if "oneOf" in documented:
        return any(answers_as_documented(spec, alternative, answer) for alternative in documented["oneOf"])
    if documented.get("type") == "array":
        return bool(answer) and all(answers_as_documented(spec, documented["items"], item) for item in answer)
    return isinstance(answer, dict) and set(documented.get("required", [])) <= set(answer)


def authenticated(scheme: dict[str, Any], key: str) -> dict[str, Any]:
    """The request arguments that send ``key`` the way ``scheme`` says."""
    if scheme["type"] == "http":
        return {"headers": {"Authorization": f"Bearer {key}"}}
    return {"headers": {scheme["name"]: key}} if scheme["in"] == "header" else {"params": {scheme["name"]: key}}


def test_every_documented_example_is_answered_as_documented_with_every_documented_key_form(proxy: Proxy) -> None:
    spec = served_schema(proxy)
    schemes = spec["components"]["securitySchemes"]
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        for path, method, op in client_operations(spec):
            url = path
            for parameter in op.get("parameters", []):
                if parameter["in"] == "path":
                    url = url.replace(f"{{{parameter['name']}}}", parameter["example"])
            body = op["requestBody"]["content"]["application/json"]["example"] if "requestBody" in op else None
            documented = op["responses"]["200"]["content"]["application/json"]["schema"]
            for alternative in op["security"]:
                (name,) = alternative
                response = client.request(method.upper(), url, json=body, **authenticated(schemes[name], proxy.key))
                assert response.status_code == 200, (method, url, name, response.text[:500])
                assert answers_as_documented(spec, documented, response.json()), (method, url, name, response.text[:500])
            wrong = client.request(method.upper(), url, json=body, headers={"Authorization": "Bearer wrong-key"})
            assert wrong.status_code == 401, (method, url)
            error = op["responses"]["4XX"]["content"]["application/json"]["schema"]
            assert answers_as_documented(spec, error, wrong.json()), (method, url, wrong.text)
