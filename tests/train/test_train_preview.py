"""The label preview (`agentflan train --show-labels`): segments, terminal and HTML views."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.schema import CAPABILITIES
from agentflan.train.config import LabelConfig
from agentflan.train.labels import Labeller, LabelStats
from agentflan.train.preview import html_page, print_examples, segments
from agentflan.train.synthetic import synthetic_corpus

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "train" / "tiny-cpu.yaml"


def examples(tokenizer, n: int = 12):
    stats = LabelStats()
    return list(Labeller(tokenizer, LabelConfig()).examples(synthetic_corpus(n), stats)), stats


def test_segments_cover_every_token_with_its_label(tiny_tokenizer):
    exs, _ = examples(tiny_tokenizer)
    for ex in exs:
        segs = segments(ex, tiny_tokenizer)
        assert sum(s.tokens for s in segs) == len(ex)
        assert "".join(s.text for s in segs) == tiny_tokenizer.decode(ex.input_ids.tolist(),
                                                                       skip_special_tokens=False)
        labels = [s.capability for s in segs for _ in range(s.tokens)]
        assert labels == [CAPABILITIES[c] if c >= 0 else None for c in ex.capability.tolist()]
        assert all(a.capability != b.capability or a.weight != b.weight for a, b in pairwise(segs))


def test_weights_split_segments(tiny_tokenizer):
    (ex, *_), _ = examples(tiny_tokenizer)
    supervised = np.flatnonzero(ex.capability >= 0)
    ex.weight = np.ones(len(ex), dtype=np.float32)
    ex.weight[supervised[0]] = 0.5
    seg = next(s for s in segments(ex, tiny_tokenizer) if s.weight == 0.5)
    assert seg.tokens == 1 and seg.capability is not None


def test_terminal_and_html_views_show_every_label(tiny_tokenizer):
    exs, stats = examples(tiny_tokenizer, 40)
    console = Console(record=True, width=100, color_system="truecolor")
    print_examples(console, exs, tiny_tokenizer, stats)
    text = console.export_text()
    assert f"samples {stats.samples}: used {stats.used}" in text and "legend: no loss" in text
    assert all(ex.id in text for ex in exs)
    page = html_page(exs, tiny_tokenizer, stats, "labels <test>")
    assert "<title>labels &lt;test&gt;</title>" in page  # escaped
    present = {CAPABILITIES[c] for ex in exs for c in set(ex.capability.tolist()) if c >= 0}
    assert present == set(CAPABILITIES)  # the synthetic corpus exercises every capability
    shown = set(re.findall(r'<span class="c-([a-z_]+)', page))
    assert shown == present
    assert "<script" not in page and "<|im_start|>" not in page  # special tokens escaped like any text
    assert "&lt;|im_start|&gt;" in page


def test_cli_shows_labels_without_training(build_dir: Path, tmp_path: Path):
    out, page = tmp_path / "run", tmp_path / "labels.html"
    result = CliRunner().invoke(app, ["train", str(RECIPE), "--set", f"data={build_dir}", "--set", f"output_dir={out}",
                                      "--show-labels", "2", "--labels-html", str(page)])
    assert result.exit_code == 0, result.output
    assert "legend: no loss" in result.output and "samples 120: used 120" in result.output
    assert page.read_text(encoding="utf-8").count("<h2>") == 2
    assert not out.exists()  # nothing trained, nothing written there


def test_cli_rejects_a_zero_count(build_dir: Path):
    result = CliRunner().invoke(app, ["train", str(RECIPE), "--set", f"data={build_dir}", "--show-labels", "0"])
    assert result.exit_code == 2
