from __future__ import annotations

from typing import Any

import pytest

from agentflan.errors import UsageError
from agentflan.evaluate.backends import make_backend, vllm_available
from agentflan.evaluate.backends.openai_http import OpenAIHTTPBackend, chat_url
from agentflan.evaluate.backends.prompt import render_prompt
from agentflan.evaluate.samples import Sample

TOOL = {"name": "math.factorial", "description": "n!", "parameters": {
    "type": "object", "properties": {"number": {"type": "integer", "x-original-type": "integer"}}}}


class _Tokenizer:
    """A stand-in for a Hugging Face tokenizer whose template may or may not render tools."""

    chat_template = "stub"

    def __init__(self, renders_tools: bool) -> None:
        self.renders_tools = renders_tools

    def apply_chat_template(self, messages: list[dict[str, Any]], tools: Any = None, **_: Any) -> str:
        shown = f"TOOLS={[t['function']['name'] for t in tools]}\n" if tools and self.renders_tools else ""
        return shown + "\n".join(f"<{m['role']}>{m['content']}" for m in messages) + "\n<assistant>"


def _sample(native: bool = True) -> Sample:
    return Sample(id="s", bench="bfcl", category="simple_python", native_tools=native, tools=[TOOL],
                  messages=[{"role": "user", "content": "5!?"}], expected=None)


def test_tools_go_to_the_template_or_the_system_prompt() -> None:
    native = render_prompt(_Tokenizer(renders_tools=True), _sample())
    assert native.startswith("TOOLS=['math.factorial']") and "<system>" not in native
    fallback = render_prompt(_Tokenizer(renders_tools=False), _sample())
    assert fallback.startswith("<system>") and '"name": "math.factorial"' in fallback
    assert "x-original-type" not in fallback  # bookkeeping keys are not shown to the model
    assert "math.factorial" not in render_prompt(_Tokenizer(renders_tools=True), _sample(native=False))


def test_openai_body_and_url() -> None:
    backend = OpenAIHTTPBackend("http://h:8000/v1", "m", cache=False)
    body = backend.body(_sample())
    assert body["tools"][0]["function"]["name"] == "math_factorial"  # OpenAI forbids dots
    assert body["temperature"] == 0
    assert "x-original-type" not in str(body)
    assert "tools" not in backend.body(_sample(native=False))
    assert [chat_url(u) for u in ("http://h", "http://h/v1/", "http://h/v1/chat/completions")] == [
        "http://h/v1/chat/completions"] * 3


def test_openai_body_sends_past_calls_as_the_api_wants_them() -> None:
    # A multi-turn episode's history keeps arguments as dicts (chat templates want them so); the API wants text.
    call = {"id": "c0", "type": "function", "function": {"name": "math.factorial", "arguments": {"number": 5}}}
    history = [{"role": "user", "content": "5!?"}, {"role": "assistant", "content": "", "tool_calls": [call]},
               {"role": "tool", "tool_call_id": "c0", "content": "120"}]
    sample = Sample(id="s", bench="bfcl", category="multi_turn_base", tools=[TOOL], messages=history)
    sent = OpenAIHTTPBackend("http://h:8000/v1", "m", cache=False).body(sample)["messages"][1]["tool_calls"][0]
    assert sent["function"] == {"name": "math_factorial", "arguments": '{"number": 5}'}
    assert history[1]["tool_calls"][0]["function"]["arguments"] == {"number": 5}  # the sample is left as it was


def test_backend_choice() -> None:
    assert make_backend("auto", endpoint="http://h", model_name="m").name == "openai"
    with pytest.raises(UsageError):
        make_backend("openai", endpoint="http://h")  # no model name
    with pytest.raises(UsageError):
        make_backend("auto")  # neither a model nor an endpoint
    with pytest.raises(UsageError):
        make_backend("nope", model="x")
    if not vllm_available():
        with pytest.raises(UsageError, match="vllm"):
            make_backend("vllm", model="x")
