"""Any OpenAI-compatible chat endpoint (vLLM server, lmdeploy, Ollama, hosted APIs) over HTTP.

Requests run ``concurrency`` at a time; a transport error, a 408/409/429 or a 5xx is retried with exponential
backoff; every successful reply is cached on disk under the hash of the request (URL + body), so rerunning an
evaluation, or resuming an interrupted one, sends nothing already answered. Greedy decoding (temperature 0).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from agentflan.evaluate.backends import GenerationError, Reply
from agentflan.evaluate.samples import Sample, openai_tools
from agentflan.paths import cache_dir

_RETRY_STATUS = {408, 409, 429}


def chat_url(endpoint: str) -> str:
    """``http://host:8000`` / ``.../v1`` / ``.../v1/chat/completions`` → the chat completions URL."""
    url = endpoint.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


class OpenAIHTTPBackend:
    name = "openai"

    def __init__(self, endpoint: str, model_name: str, max_tokens: int = 512, concurrency: int = 8,
                 retries: int = 4, backoff_s: float = 1.0, timeout_s: float = 300.0, cache: bool = True,
                 cache_path: Path | None = None, api_key: str | None = None) -> None:
        self.url = chat_url(endpoint)
        self.model_name = model_name
        self.max_tokens = max_tokens
        self.concurrency = max(1, concurrency)
        self.retries = retries
        self.backoff_s = backoff_s
        self.cache_path = (cache_path or cache_dir() / "replies") if cache else None
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout_s)
        self.cache_hits = 0
        self.requests_sent = 0
        self._lock = threading.Lock()  # the counters are updated from the worker threads

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "url": self.url, "model": self.model_name, "max_tokens": self.max_tokens,
                "decoding": "greedy (temperature 0)", "cache_hits": self.cache_hits,
                "requests_sent": self.requests_sent}

    def body(self, sample: Sample) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_name, "messages": wire_messages(sample.messages),
                                "temperature": 0, "max_tokens": self.max_tokens}
        if sample.native_tools and sample.tools:
            # OpenAI's API accepts only [a-zA-Z0-9_-] in names; the classifier maps "_" back to ".".
            body["tools"] = openai_tools(sample.tools, rename=lambda n: n.replace(".", "_"))
        return body

    def generate(self, samples: list[Sample]) -> list[Reply]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._one, samples))

    def _cache_file(self, body: dict[str, Any]) -> Path | None:
        if self.cache_path is None:
            return None
        digest = hashlib.sha256(json.dumps({"url": self.url, "body": body}, sort_keys=True,
                                           ensure_ascii=False).encode()).hexdigest()
        return self.cache_path / digest[:2] / f"{digest}.json"

    def _one(self, sample: Sample) -> Reply:
        body = self.body(sample)
        cached = self._cache_file(body)
        if cached is not None and cached.exists():
            with self._lock:
                self.cache_hits += 1
            return json.loads(cached.read_text(encoding="utf-8"))
        result = self._post(body)
        if cached is not None and not isinstance(result, GenerationError):
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.{id(sample)}")
            tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, cached)  # atomic: a concurrent or interrupted run never reads half a reply
        return result

    def _post(self, body: dict[str, Any]) -> Reply:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                with self._lock:
                    self.requests_sent += 1
                resp = self._client.post(self.url, json=body, headers=self._headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if resp.status_code in _RETRY_STATUS or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                continue
            if resp.status_code >= 400:
                return GenerationError(f"HTTP {resp.status_code}: {resp.text[:300]}")
            try:
                message = resp.json()["choices"][0]["message"]
            except (ValueError, KeyError, IndexError, TypeError):
                return GenerationError(f"unexpected response: {resp.text[:300]}")
            return {k: message.get(k) for k in ("role", "content", "tool_calls") if k in message}
        return GenerationError(f"failed after {self.retries + 1} attempts: {last}")


def wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as the OpenAI API takes them: a call's arguments as a JSON string (samples keep them as dicts,
    as Hugging Face chat templates want), and call names with dots renamed like the tools'."""
    out = []
    for message in messages:
        calls = message.get("tool_calls")
        if calls:
            message = {**message, "tool_calls": [_wire_call(c) for c in calls]}
        out.append(message)
    return out


def _wire_call(call: dict[str, Any]) -> dict[str, Any]:
    function = dict(call.get("function", {}))
    if not isinstance(function.get("arguments"), str):
        function["arguments"] = json.dumps(function.get("arguments") or {}, ensure_ascii=False)
    if isinstance(function.get("name"), str):
        function["name"] = function["name"].replace(".", "_")
    return {**call, "function": function}
