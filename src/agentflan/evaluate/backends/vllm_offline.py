"""vLLM offline inference (``pip install agentflan[vllm]``, GPU only): the same prompts as the transformers
backend, rendered through the model's chat template, generated greedily in one call."""

from __future__ import annotations

from typing import Any

from agentflan.evaluate.backends import Reply
from agentflan.evaluate.backends.prompt import render_prompt
from agentflan.evaluate.samples import Sample


class VLLMBackend:
    name = "vllm"

    def __init__(self, model_path: str, max_new_tokens: int = 512, **engine_args: Any) -> None:
        from vllm import LLM

        self.llm = LLM(model=model_path, **engine_args)
        self.tokenizer = self.llm.get_tokenizer()
        self.model_path = model_path
        self.max_new_tokens = max_new_tokens

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_path, "max_new_tokens": self.max_new_tokens,
                "decoding": "greedy"}

    def generate(self, samples: list[Sample]) -> list[Reply]:
        from vllm import SamplingParams

        # Token ids, not text: the rendered template already holds the BOS token, which vLLM would add again.
        prompts = [{"prompt_token_ids": self.tokenizer.encode(render_prompt(self.tokenizer, s),
                                                              add_special_tokens=False)} for s in samples]
        # Special tokens are kept, as by the transformers backend: some families open their calls with one.
        params = SamplingParams(temperature=0.0, max_tokens=self.max_new_tokens, skip_special_tokens=False)
        outputs = self.llm.generate(prompts, params)
        eos = getattr(self.tokenizer, "eos_token", None) or ""
        return [o.outputs[0].text.removesuffix(eos) if eos else o.outputs[0].text for o in outputs]
