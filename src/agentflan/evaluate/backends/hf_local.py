"""A local Hugging Face model: batched greedy generation through its chat template."""

from __future__ import annotations

from typing import Any

from agentflan.errors import InputError
from agentflan.evaluate.backends import Reply
from agentflan.evaluate.backends.prompt import render_prompt
from agentflan.evaluate.samples import Sample


class TransformersBackend:
    name = "transformers"

    def __init__(self, model_path: str, max_new_tokens: int = 512, batch_size: int = 8,
                 device: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        # Any: transformers' annotations of these objects change from release to release.
        self.tokenizer: Any
        self.model: Any
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path)
            self.model = AutoModelForCausalLM.from_pretrained(
                model_path, dtype=torch.bfloat16 if torch.cuda.is_available() else torch.float32)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load model {model_path}: {exc}") from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        # Left padding keeps every prompt's last token next to its generated continuation.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model_path = model_path
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_path, "max_new_tokens": self.max_new_tokens,
                "batch_size": self.batch_size, "decoding": "greedy", "device": self.device}

    def generate(self, samples: list[Sample]) -> list[Reply]:
        import torch

        prompts = [render_prompt(self.tokenizer, s) for s in samples]
        replies: list[Reply] = [""] * len(samples)
        # Similar lengths in one batch waste less padding; the order is restored below.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            # No token_type_ids: decoder-only models take none, and transformers 4.x generate() refuses them.
            enc = self.tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True,
                                 add_special_tokens=False, return_token_type_ids=False).to(self.device)
            with torch.no_grad():
                out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id)
            new = out[:, enc["input_ids"].shape[1]:]
            for i, tokens in zip(idx, new, strict=True):
                replies[i] = self.decode(tokens.tolist())
        return replies

    def decode(self, ids: list[int]) -> str:
        """The generated text up to the first end token. Special tokens are kept: several families open their
        calls with one (``[TOOL_CALLS]``, ``<|python_tag|>``, ``<|action_start|>``, DeepSeek's
        ``<｜tool▁call▁begin｜>``), and the reply reader needs them to see the call."""
        stop = _stop_ids(self.tokenizer, getattr(self.model, "generation_config", None))
        end = next((k for k, t in enumerate(ids) if t in stop), len(ids))
        return self.tokenizer.decode(ids[:end], skip_special_tokens=False)


def _stop_ids(tokenizer: Any, generation_config: Any) -> set[int]:
    ids: set[int] = set()
    for value in (tokenizer.eos_token_id, tokenizer.pad_token_id, getattr(generation_config, "eos_token_id", None)):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(v for v in value if isinstance(v, int))
    return ids
