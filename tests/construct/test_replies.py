"""Reply sources: the OpenAI-compatible endpoint (retries with backoff, then a reject with the reason), reference
answers, templates; the order the recipe gives."""

from __future__ import annotations

import pytest
from fake_endpoint import fake_endpoint

from agentflan.construct.recipe import EndpointSpec
from agentflan.construct.replies import ChatEndpoint, check_plain, resolve_reply
from agentflan.errors import ConfigError, RecordError


def _client(url: str, **kw: object) -> tuple[ChatEndpoint, list[float]]:
    sleeps: list[float] = []
    spec = EndpointSpec(base_url=url, model="m", retries=kw.pop("retries", 2), backoff_s=0.5, timeout_s=5, **kw)
    return ChatEndpoint(spec, sleep=sleeps.append), sleeps


def test_endpoint_returns_the_reply_and_sends_the_model() -> None:
    with fake_endpoint(default=(200, "  Hello there.  ")) as srv:
        client, _ = _client(srv["url"])
        assert client.complete([{"role": "user", "content": "hi"}]) == "Hello there."
        req = srv["requests"][0]
        assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "m"
        assert req["body"]["messages"] == [{"role": "user", "content": "hi"}]


def test_endpoint_retries_transient_errors_with_exponential_backoff() -> None:
    with fake_endpoint([(500, "boom"), (429, "slow down")], default=(200, "ok now")) as srv:
        client, sleeps = _client(srv["url"])
        assert client.complete([{"role": "user", "content": "x"}]) == "ok now"
        assert len(srv["requests"]) == 3 and sleeps == [0.5, 1.0]


def test_endpoint_gives_up_after_the_retries_with_the_reason() -> None:
    with fake_endpoint(default=(503, "down")) as srv:
        client, _ = _client(srv["url"], retries=2)
        with pytest.raises(RecordError) as err:
            client.complete([{"role": "user", "content": "x"}])
        assert err.value.reason == "endpoint_failed" and "HTTP 503" in err.value.detail
        assert len(srv["requests"]) == 3 and client.failures == 1


def test_endpoint_does_not_retry_a_client_error() -> None:
    with fake_endpoint(default=(404, "no such model")) as srv:
        client, _ = _client(srv["url"])
        with pytest.raises(RecordError, match="HTTP 404"):
            client.complete([{"role": "user", "content": "x"}])
        assert len(srv["requests"]) == 1


def test_unreachable_endpoint_fails_the_probe_before_any_work() -> None:
    client, _ = _client("http://127.0.0.1:9/v1", retries=0)
    with pytest.raises(ConfigError, match=r"negatives\.endpoint"):
        client.probe()


def test_api_key_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_endpoint() as srv:
        with pytest.raises(ConfigError, match="MY_KEY"):
            _client(srv["url"], api_key_env="MY_KEY")
        monkeypatch.setenv("MY_KEY", "sekrit")
        client, _ = _client(srv["url"], api_key_env="MY_KEY")
        client.complete([{"role": "user", "content": "x"}])
        assert srv["requests"][0]["auth"] == "Bearer sekrit"


def test_resolve_reply_follows_the_order() -> None:
    template = lambda: "templated"  # noqa: E731
    assert resolve_reply(["endpoint", "reference", "template"], None, None, "ref", template) == ("ref", "reference")
    assert resolve_reply(["template", "reference"], None, None, "ref", template) == ("templated", "template")
    assert resolve_reply(["reference", "template"], None, None, None, template) == ("templated", "template")
    with pytest.raises(RecordError, match="no_reply"):
        resolve_reply(["reference"], None, None, "  ", None)
    with fake_endpoint(default=(200, "from the model")) as srv:
        client, _ = _client(srv["url"])
        assert resolve_reply(["endpoint", "reference"], client, [{"role": "user", "content": "q"}], "ref",
                             template) == ("from the model", "endpoint")


def test_a_reply_that_pretends_to_call_is_refused() -> None:
    assert check_plain("Sure, here you go.") == "Sure, here you go."
    with pytest.raises(RecordError, match="reply_pretends_call"):
        check_plain("Thought: I need a tool\nAction: search")
    with fake_endpoint(default=(200, "<tool_call>{}</tool_call>")) as srv:
        client, _ = _client(srv["url"])
        with pytest.raises(RecordError, match="reply_pretends_call"):
            resolve_reply(["endpoint"], client, [{"role": "user", "content": "q"}], None, None)
