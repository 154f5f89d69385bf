"""`--tokenizer PATH` counts with a real Hugging Face tokenizer (a tiny one trained here, never downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentflan.cli import app

pytest.importorskip("transformers")


def _train_tokenizer(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["What is the weather in Paris today?", "I should look up the weather.", "It is 21 °C in Paris.",
              '{"name": "weather", "arguments": {"city": "Paris"}}']
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=60, special_tokens=["[UNK]"]))
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(path)
    return path


def test_named_tokenizer_counts_differ_from_the_approximation(corpus: Path, tmp_path: Path) -> None:
    tok = _train_tokenizer(tmp_path / "tok")
    runner = CliRunner()
    a = runner.invoke(app, ["audit", str(corpus), "-o", str(tmp_path / "approx"), "-q"])
    b = runner.invoke(app, ["audit", str(corpus), "-o", str(tmp_path / "hf"), "-q", "--tokenizer", str(tok)])
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    ra = json.loads((tmp_path / "approx" / "report.json").read_text())
    rb = json.loads((tmp_path / "hf" / "report.json").read_text())
    assert ra["tokens_counted_with"].startswith("approx-regex")
    assert rb["tokens_counted_with"] == f"tokenizer:{tok}"
    # a 60-piece vocabulary splits words into many pieces: more tokens than one per word
    assert rb["format"]["supervised_tokens"] > ra["format"]["supervised_tokens"]
    assert 0 < rb["format_share"] < 1
