"""Model backends: something that answers `Sample`s with replies.

- ``transformers``: a local Hugging Face model, batched greedy generation through the model's chat template;
- ``vllm``: vLLM offline inference (the ``agentflan[vllm]`` extra; used only when installed and a GPU is present);
- ``openai``: any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM server, lmdeploy, Ollama, hosted
  APIs), with concurrency, retries and an on-disk reply cache, so a rerun costs nothing.

A reply is the generated text, or for ``openai`` the assistant message (``content`` and ``tool_calls``); a
request that failed for good is a `GenerationError`, recorded and left out of the metrics.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Protocol

from agentflan.errors import UsageError
from agentflan.evaluate.samples import Sample

BACKENDS = ("auto", "transformers", "vllm", "openai")


@dataclass(frozen=True)
class GenerationError:
    message: str


Reply = str | dict[str, Any] | GenerationError


class Backend(Protocol):
    name: str

    def generate(self, samples: list[Sample]) -> list[Reply]:
        """One reply per sample, in the samples' order."""
        ...

    def describe(self) -> dict[str, Any]:
        """What produced the replies (model, settings), for results.json."""
        ...


def vllm_available() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def make_backend(kind: str = "auto", model: str | None = None, endpoint: str | None = None,
                 model_name: str | None = None, max_new_tokens: int = 512, batch_size: int = 8,
                 concurrency: int = 8, cache: bool = True) -> Backend:
    """The backend for the command-line choices (``auto``: the endpoint if given, else vLLM when usable, else
    transformers)."""
    if kind not in BACKENDS:
        raise UsageError(f"unknown backend {kind!r}; choose from: {', '.join(BACKENDS)}")
    if kind == "openai" or (kind == "auto" and endpoint):
        if not endpoint or not model_name:
            raise UsageError("the openai backend needs --endpoint URL and --model-name NAME")
        from agentflan.evaluate.backends.openai_http import OpenAIHTTPBackend

        return OpenAIHTTPBackend(endpoint, model_name, max_tokens=max_new_tokens, concurrency=concurrency,
                                 cache=cache)
    if not model:
        raise UsageError("give --model PATH (a local model) or --endpoint URL --model-name NAME")
    if kind == "vllm" or (kind == "auto" and vllm_available()):
        if not vllm_available():
            raise UsageError("the vllm backend needs `pip install agentflan[vllm]` and a GPU")
        from agentflan.evaluate.backends.vllm_offline import VLLMBackend

        return VLLMBackend(model, max_new_tokens=max_new_tokens)
    from agentflan.evaluate.backends.hf_local import TransformersBackend

    return TransformersBackend(model, max_new_tokens=max_new_tokens, batch_size=batch_size)
