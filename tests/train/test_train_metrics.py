"""The capability-aware loss: equal to transformers' own loss, per-capability means from the same tokens."""

from __future__ import annotations

import json
import math

import torch

from agentflan.schema import CAPABILITIES
from agentflan.train.labels import IGNORE
from agentflan.train.metrics import LossTracker, MetricsFile, plot, read_metrics


def batch(seed: int = 0, vocab: int = 50):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 6, vocab, generator=g)
    labels = torch.randint(0, vocab, (2, 6), generator=g)
    labels[0, :2] = IGNORE
    labels[1, 4:] = IGNORE
    caps = torch.tensor([[-1, -1, 0, 0, 2, 2], [4, 4, 4, 2, -1, -1]])
    sources = torch.tensor([[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    return logits, labels, caps, sources


def reference_token_loss(logits, labels):
    """Per-position CE of predicting labels[t+1] from logits[t], as a plain loop."""
    out = {}
    for b in range(labels.shape[0]):
        for t in range(labels.shape[1] - 1):
            if labels[b, t + 1] != IGNORE:
                out[(b, t + 1)] = torch.nn.functional.cross_entropy(logits[b, t][None], labels[b, t + 1][None]).item()
    return out


def test_loss_equals_transformers_causal_lm_loss():
    from transformers.loss.loss_utils import ForCausalLMLoss

    logits, labels, caps, sources = batch()
    ours = LossTracker(["s0", "s1"]).loss(logits, labels, caps, sources)
    theirs = ForCausalLMLoss(logits, labels, vocab_size=logits.shape[-1])
    torch.testing.assert_close(ours, theirs)


def test_per_capability_and_source_means_from_the_same_tokens():
    logits, labels, caps, sources = batch()
    tracker = LossTracker(["s0", "s1"])
    tracker.loss(logits, labels, caps, sources)
    got = tracker.collect()
    ref = reference_token_loss(logits, labels)
    by_cap: dict[str, list[float]] = {}
    by_src: dict[str, list[float]] = {}
    for (b, t), v in ref.items():
        by_cap.setdefault(CAPABILITIES[caps[b, t].item()], []).append(v)
        by_src.setdefault(f"s{sources[b, t].item()}", []).append(v)
    for cap, values in by_cap.items():
        assert math.isclose(got[f"loss/{cap}"], sum(values) / len(values), rel_tol=1e-5)
        assert got[f"tokens/{cap}"] == len(values)
    for src, values in by_src.items():
        assert math.isclose(got[f"loss/source/{src}"], sum(values) / len(values), rel_tol=1e-5)
    assert sum(v for k, v in got.items() if k.startswith("tokens/")) == len(ref)
    assert tracker.collect() == {}  # collect resets the window


def test_weights_scale_the_loss_but_not_the_tracked_means():
    logits, labels, caps, sources = batch()
    weights = torch.full(labels.shape, 0.5)
    plain, weighted = LossTracker(["a", "b"]), LossTracker(["a", "b"])
    l1 = plain.loss(logits, labels, caps, sources)
    l2 = weighted.loss(logits, labels, caps, sources, weights)
    torch.testing.assert_close(l2, l1 * 0.5)
    assert plain.collect() == weighted.collect()


def test_num_items_divides_the_sum():
    logits, labels, caps, sources = batch()
    n = int((labels[:, 1:] != IGNORE).sum())
    loss = LossTracker(["a", "b"]).loss(logits, labels, caps, sources, num_items=2 * n)
    torch.testing.assert_close(loss * 2, LossTracker(["a", "b"]).loss(logits, labels, caps, sources))


def test_metrics_file_and_plot(tmp_path):
    class State:
        is_world_process_zero = True
        global_step = 0

    cb, state = MetricsFile(tmp_path / "metrics.jsonl"), State()
    for step, value in ((10, 2.0), (20, float("nan")), (30, 1.0)):
        state.global_step = step
        cb.on_log(None, state, None, logs={"loss": value, "loss/reasoning": value + 1, "loss/source/x": value})
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [10, 20, 30]
    assert rows[1]["loss"] is None  # NaN is not JSON: written as null
    json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
    png = plot(tmp_path / "metrics.jsonl", tmp_path / "capability_loss.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
