"""The real openai SDK through the live proxy: every request is recorded, priced and counted."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import openai
import pytest
from openapi_spec_validator import validate

from proxy_app.access.auth import invalidate_directory
from proxy_app.core.secrets import hash_key, mask_secret
from proxy_app.models import ProxyKey
from tests.conftest import Proxy
from tests.fakes.openai_fake import neutral_view
from tests.fakes.scenario import plan_reply
from tests.usage.conftest import operator_get
from usage_app import recorder
from usage_app.models import UsageRecord

# (model as the client asks, project, stream, include_usage, prompt)
MIX = [
    ("gpt-4o", "alpha", False, False, "Hello there"),
    ("gpt-4o", "alpha", True, True, "Stream me a reply please"),
    ("openai:gpt-4o-mini", "beta", False, False, "[[cached]] short one"),
    ("openai:gpt-4o-mini", "beta", True, False, "stream without usage for the client"),
    ("openrouter:openai/gpt-4", "alpha", False, False, "[[think]] think about it"),
    ("openrouter:openai/gpt-4", "gamma", True, True, "another streamed question with more words"),
    ("openai:gpt-unknown-model-zz9", "gamma", False, False, "nobody knows my price"),
]
UPSTREAM_MODEL = {"gpt-4o": "gpt-4o", "openai:gpt-4o-mini": "gpt-4o-mini", "openrouter:openai/gpt-4": "openai/gpt-4",
                  "openai:gpt-unknown-model-zz9": "gpt-unknown-model-zz9"}


def sdk(proxy: Proxy, project: str, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.openai_base, api_key=key or proxy.key, max_retries=0,
                         default_headers={"X-Project": project, "X-User-ID": "tester"})


def run_mix(proxy: Proxy) -> list[dict[str, int]]:
    """Send MIX; the usage the SDK saw, per request (None where the client did not ask for it)."""
    seen = []
    for model, project, stream, include_usage, prompt in MIX:
        api = sdk(proxy, project)
        messages = [{"role": "user", "content": prompt}]
        if not stream:
            usage = api.chat.completions.create(model=model, messages=messages).usage
        else:
            kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
            chunks = list(api.chat.completions.create(model=model, messages=messages, stream=True, **kwargs))
            usage = chunks[-1].usage if include_usage else None
        seen.append(None if usage is None else {
            "input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
            "cached_tokens": usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0,
            "reasoning_tokens": (usage.completion_tokens_details.reasoning_tokens
                                 if usage.completion_tokens_details else 0),
        })
    return seen


def upstream_usage(proxy: Proxy) -> list[dict[str, int]]:
    """What the fakes reported for each upstream request, recomputed from their deterministic scenario."""
    out = []
    for fake in (proxy.fakes.openai, proxy.fakes.openrouter):
        for req in fake.chat_requests():
            reply = plan_reply(neutral_view(req.body))
            out.append({"model": req.body["model"], "input_tokens": reply.input_tokens,
                        "output_tokens": reply.output_tokens, "cached_tokens": reply.cached_tokens,
                        "reasoning_tokens": reply.reasoning_tokens})
    return out


KINDS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens")


def test_stats_totals_equal_what_the_upstream_reported(usage_proxy: Proxy) -> None:
    proxy = usage_proxy
    sdk_usage = run_mix(proxy)
    assert recorder.flush(10)
    reported = upstream_usage(proxy)
    assert len(reported) == len(MIX)

    totals = operator_get(proxy, "/usage/stats").json()
    assert totals["object"] == "usage_stats"
    data = totals["data"]["totals"]
    assert data["requests"] == len(MIX) and data["errors"] == 0
    for kind in KINDS:
        assert data[kind] == sum(r[kind] for r in reported), kind
    # The SDK saw the same numbers as the proxy recorded, request by request.
    records = {r.path + r.requested_model + r.project + str(r.stream): r for r in UsageRecord.objects.all()}
    for (model, project, stream, _, _), seen in zip(MIX, sdk_usage, strict=True):
        if seen is not None:
            rec = records["/v1/chat/completions" + model + project + str(stream)]
            assert {k: getattr(rec, k) for k in KINDS} == seen

    by_model = {row["key"]: row for row in operator_get(proxy, "/usage/stats", group_by="model").json()["data"]["breakdown"]}
    expected_by_model: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for r in reported:
        for kind in KINDS:
            expected_by_model[r["model"]][kind] += r[kind]
    assert set(by_model) == set(expected_by_model)
    for model, expected in expected_by_model.items():
        assert {k: by_model[model][k] for k in KINDS} == expected

    by_project = {row["key"]: row["requests"] for row in
                  operator_get(proxy, "/usage/stats", group_by="project").json()["data"]["breakdown"]}
    assert by_project == {"alpha": 3, "beta": 2, "gamma": 2}
    alpha = operator_get(proxy, "/usage/stats", project="alpha", days=1).json()["data"]["totals"]
    assert alpha["requests"] == 3

    # Priced models have a cost; the unknown one is NULL, never 0.
    unknown = UsageRecord.objects.get(model="gpt-unknown-model-zz9")
    assert unknown.cost_usd is None
    gpt4o = UsageRecord.objects.filter(model="gpt-4o", stream=False).get()
    assert gpt4o.cost_usd == (Decimal(gpt4o.input_tokens) * Decimal("2.5") + Decimal(gpt4o.output_tokens) * 10) / 10**6
    assert data["unpriced_requests"] == 1 and data["cost_usd"] > 0


def test_recent_lists_every_request_with_cursor_pages(usage_proxy: Proxy) -> None:
    proxy = usage_proxy
    run_mix(proxy)
    recorder.flush(10)
    body = operator_get(proxy, "/usage/recent", limit=100).json()
    assert body["object"] == "usage_entries" and len(body["data"]) == len(MIX)
    first = body["data"][0]
    assert first["protocol"] and first["attempts"] == 1 and first["attempt_log"][0]["outcome"] == "ok"
    assert first["user"] == "tester" and first["owner"] == "env-key"
    assert "sk-fake" not in str(body)  # masked hints only
    seen, url = [], "/usage/recent?limit=3"
    page = operator_get(proxy, url).json()
    while True:
        seen += [row["id"] for row in page["data"]]
        if not page["next"]:
            break
        page = operator_get(proxy, page["next"].split(str(proxy.port), 1)[1]).json()
    assert len(seen) == len(set(seen)) == len(MIX)
    assert len(operator_get(proxy, "/usage/recent", project="beta").json()["data"]) == 2


def test_a_key_sees_only_its_own_records(usage_proxy: Proxy) -> None:
    proxy = usage_proxy
    own_key = "lip-own-key-for-usage-tests-0123456789"
    row = ProxyKey.objects.create(name="team-a", key_hash=hash_key(own_key), key_hint=mask_secret(own_key),
                                  project="team-a-default")
    invalidate_directory()
    sdk(proxy, "shared", key=own_key).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "a"}])
    sdk(proxy, "shared").chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "b"}])
    # no X-Project: the key's default project
    openai.OpenAI(base_url=proxy.openai_base, api_key=own_key, max_retries=0).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "c"}])
    recorder.flush(10)

    mine = operator_get(proxy, "/usage/recent", key=own_key).json()["data"]
    assert len(mine) == 2 and {r["proxy_key_id"] for r in mine} == {row.pk}
    assert {r["project"] for r in mine} == {"shared", "team-a-default"}
    assert operator_get(proxy, "/usage/stats", key=own_key).json()["data"]["totals"]["requests"] == 2
    assert operator_get(proxy, "/usage/stats").json()["data"]["totals"]["requests"] == 3
    assert len(operator_get(proxy, "/usage/recent").json()["data"]) == 3
    assert operator_get(proxy, "/usage/stats", key="lip-wrong").status_code == 401


def test_it_records_failed_requests_with_their_error(usage_proxy: Proxy) -> None:
    proxy = usage_proxy
    with pytest.raises(openai.APIStatusError):
        sdk(proxy, "alpha").chat.completions.create(model="gpt-4o",
                                                    messages=[{"role": "user", "content": "[[error:400]]"}])
    recorder.flush(10)
    rec = UsageRecord.objects.get()
    assert rec.status == 400 and rec.error_message and rec.attempt_log[0]["status"] == 400
    totals = operator_get(proxy, "/usage/stats").json()["data"]["totals"]
    assert totals["errors"] == 1


def test_metrics_expose_counters_after_requests(usage_proxy: Proxy) -> None:
    import httpx

    proxy = usage_proxy
    run_mix(proxy)
    recorder.flush(10)
    text = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {proxy.key}"}).text
    assert 'llmproxy_requests_total{backend="openai",model="gpt-4o",status="200"}' in text
    assert 'llmproxy_tokens_total{backend="openrouter",kind="input",model="openai/gpt-4"}' in text
    assert "llmproxy_request_latency_seconds_bucket" in text and "llmproxy_time_to_first_token_seconds_count" in text
    assert 'llmproxy_cost_usd_total{backend="openai",model="gpt-4o"}' in text
    assert "llmproxy_usage_recorder_queue_depth" in text and "llmproxy_usage_recorder_overflow_total" in text


@pytest.mark.django_db
def test_openapi_schema_validates(client: object) -> None:
    response = client.get("/api/schema/", {"format": "json"})  # type: ignore[attr-defined]
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert {"/usage/stats", "/usage/recent", "/audit/logs"} <= set(spec["paths"])
    assert "proxyKey" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs/")  # type: ignore[attr-defined]
    assert docs.status_code == 200 and b"/api/docs/assets/swagger-ui-dist/swagger-ui-bundle.js" in docs.content
    assert client.get("/api/docs/assets/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200  # type: ignore[attr-defined]


def test_fields_another_protocol_does_not_take_are_counted_by_name(usage_proxy: Proxy) -> None:
    """Never stricter than the provider: an unknown field goes to a same-protocol backend untouched
    and is dropped, and counted, for the others."""
    import httpx

    proxy = usage_proxy
    headers = {"Authorization": f"Bearer {proxy.key}"}
    for model in ("gpt-4o", "anthropic:claude-sonnet-4-5"):
        resp = httpx.post(f"{proxy.url}/v1/chat/completions", headers=headers, timeout=10, json={
            "model": model, "messages": [{"role": "user", "content": "hi"}], "x_future_field": {"a": 1}})
        assert resp.status_code == 200
    assert proxy.fakes.openai.chat_requests()[-1].body["x_future_field"] == {"a": 1}
    assert "x_future_field" not in proxy.fakes.anthropic.chat_requests()[-1].body
    text = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {proxy.key}"}).text
    assert 'llmproxy_dropped_fields_total{backend="anthropic",client="openai_chat",field="x_future_field"}' in text


def test_requests_no_backend_served_show_as_answered_by_the_proxy_or_failed_before_routing(usage_proxy: Proxy) -> None:
    """A command answer and a request refused before routing are told apart in the backend breakdown
    (and in rollups), instead of both under an unnamed backend."""
    from datetime import timedelta

    from django.utils import timezone

    from usage_app import stats

    proxy = usage_proxy
    api = sdk(proxy, "alpha")
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "!/help"}])
    with pytest.raises(openai.BadRequestError):
        api.chat.completions.create(model="nosuchbackend:model-x", messages=[{"role": "user", "content": "hi"}])
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello there"}])
    recorder.flush(10)

    def by_backend(**params: object) -> dict[str, dict[str, int]]:
        rows = operator_get(proxy, "/usage/stats", group_by="backend", **params).json()["data"]["breakdown"]
        return {row["key"]: {"requests": row["requests"], "errors": row["errors"]} for row in rows}

    expected = {"answered by the proxy": {"requests": 1, "errors": 0},
                "failed before routing": {"requests": 1, "errors": 1}, "openai": {"requests": 1, "errors": 0}}
    assert by_backend() == expected
    assert by_backend(backend="answered by the proxy") == {"answered by the proxy": {"requests": 1, "errors": 0}}
    # Rolled up (the records' hour closed), the breakdown reads the same from the rollup rows.
    UsageRecord.objects.update(created_at=timezone.now() - timedelta(hours=3))
    stats.usage_rollup(now=timezone.now())
    assert by_backend(days=1) == expected
    assert by_backend(days=1, backend="failed before routing") == {"failed before routing": {"requests": 1, "errors": 1}}
