"""Token counting for manifests and reports: a named Hugging Face tokenizer when given, else a stated
approximation, so counts are comparable across machines without downloading anything."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

# Words, numbers and single punctuation marks: close to BPE counts for English prose and JSON within ~25%.
_APPROX = re.compile(r"\w+|[^\w\s]", re.UNICODE)

APPROXIMATION = "approx-regex: one token per word, number or punctuation mark (\\w+|[^\\w\\s])"


def approx_count(text: str) -> int:
    return len(_APPROX.findall(text))


@lru_cache(maxsize=4)
def _hf_counter(name_or_path: str) -> Callable[[str], int]:
    from transformers import AutoTokenizer  # optional dependency: only when a tokenizer is named

    tok = AutoTokenizer.from_pretrained(name_or_path)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def token_counter(tokenizer: str | None = None) -> tuple[Callable[[str], int], str]:
    """Return (count function, description of what it counts) for manifests."""
    if tokenizer:
        return _hf_counter(tokenizer), f"tokenizer:{tokenizer}"
    return approx_count, APPROXIMATION
