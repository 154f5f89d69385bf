"""Where the replies of negative samples (and of general questions that come without answers) come from:
an OpenAI-compatible endpoint when the recipe names one, a reference answer when the source has one, else a
varied template. Every reply says which in ``metadata["reply_source"]``.

The endpoint is called with retries and exponential backoff on timeouts, connection errors, 429 and 5xx; after
the last try the record is rejected with the reason (the build goes on). `ChatEndpoint.probe` is called before
any work so that a wrong URL or model is an error up front, not a thousand rejects.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import httpx

from agentflan.callsyntax import REACT_KEYWORDS
from agentflan.errors import ConfigError, RecordError

from .recipe import EndpointSpec

_RETRYABLE = {408, 409, 425, 429}
# A "plain answer" that contains these is pretending to call a tool, which is what negatives must not teach.
_CALL_MARKERS = (*REACT_KEYWORDS, "<tool_call>", "<|tool_call|>", '"tool_calls"', "<functioncall>")


class ChatEndpoint:
    """A minimal OpenAI-compatible ``/chat/completions`` client."""

    def __init__(self, spec: EndpointSpec, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.spec = spec
        self.sleep = sleep
        headers = {}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise ConfigError(f"negatives.endpoint.api_key_env: environment variable {spec.api_key_env} is unset")
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.Client(base_url=spec.base_url.rstrip("/") + "/", headers=headers,
                                   timeout=spec.timeout_s, transport=transport)
        self.calls = 0
        self.failures = 0

    def complete(self, messages: list[dict[str, Any]]) -> str:
        payload = {"model": self.spec.model, "messages": messages, "temperature": self.spec.temperature,
                   "max_tokens": self.spec.max_tokens, "seed": 0}
        last = ""
        for attempt in range(self.spec.retries + 1):
            if attempt:
                self.sleep(self.spec.backoff_s * 2 ** (attempt - 1))
            self.calls += 1
            try:
                response = self.client.post("chat/completions", json=payload)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 200:
                return _content(response)
            last = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code not in _RETRYABLE and response.status_code < 500:
                break  # a 4xx other than the transient ones will not get better by retrying
        self.failures += 1
        raise RecordError("endpoint_failed", f"{self.spec.base_url} after {attempt + 1} attempt(s): {last}")

    def probe(self) -> None:
        try:
            self.complete([{"role": "user", "content": "Reply with the word OK."}])
        except RecordError as exc:
            raise ConfigError(f"negatives.endpoint: {exc.detail} (checked before starting the build)") from None

    def close(self) -> None:
        self.client.close()


def _content(response: httpx.Response) -> str:
    try:
        text = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise RecordError("endpoint_bad_reply", f"not a chat completion: {response.text[:200]}") from None
    if not isinstance(text, str) or not text.strip():
        raise RecordError("endpoint_bad_reply", "empty reply")
    return text.strip()


def check_plain(text: str) -> str:
    """A negative's reply must not look like a tool call."""
    for marker in _CALL_MARKERS:
        if marker in text:
            raise RecordError("reply_pretends_call", f"the reply contains {marker!r}")
    return text


def resolve_reply(order: list[str], endpoint: ChatEndpoint | None, prompt: list[dict[str, Any]] | None,
                  reference: str | None, template: Callable[[], str] | None) -> tuple[str, str]:
    """(reply, source) from the first source in ``order`` that can give one; `RecordError` when none can.

    An endpoint failure rejects the record rather than falling back: the recipe asked for model replies, and a
    silent mix of sources would change the data without anyone noticing.
    """
    for source in order:
        if source == "endpoint" and endpoint is not None and prompt is not None:
            return check_plain(endpoint.complete(prompt)), "endpoint"
        if source == "reference" and reference and reference.strip():
            return check_plain(reference.strip()), "reference"
        if source == "template" and template is not None:
            return template(), "template"
    raise RecordError("no_reply", f"no reply source available among {order}")
