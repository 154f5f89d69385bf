"""Fixtures for the training tests: a tokenizer trained locally on a synthetic corpus, and canonical JSONL."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflan.train.config import TinyModel
from agentflan.train.synthetic import synthetic_corpus
from agentflan.train.tiny import train_tokenizer


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """Byte-level BPE with the tiny model's ChatML template (tools, tool role, {% generation %} tags)."""
    return train_tokenizer(synthetic_corpus(200), TinyModel(vocab_size=600))


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    """A directory shaped like an `agentflan build` output: canonical.jsonl with every capability."""
    out = tmp_path / "build"
    out.mkdir()
    (out / "canonical.jsonl").write_text("".join(t.to_json() + "\n" for t in synthetic_corpus(120)),
                                         encoding="utf-8")
    return out
