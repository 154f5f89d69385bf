"""Per-capability and per-source loss from the training forward pass itself, and where it is written.

The token-level cross-entropy is computed once (it is the training loss before reduction); the tracker sums it
by capability and by source with ``index_add_`` on tensors already on the device, and only moves the sums to
the host at logging steps. No extra forward pass, no host sync per step.

``metrics.jsonl`` gets one JSON object per logging step::

    {"step": 10, "loss": 2.31, "learning_rate": 1.9e-05, "loss/reasoning": 2.52, "loss/retrieval": 0.91,
     "loss/source/hotpotqa": 2.2, "tokens/reasoning": 5120, ...}
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import TrainerCallback

from agentflan.schema import CAPABILITIES
from agentflan.train.labels import IGNORE

METRICS_FILE = "metrics.jsonl"
PLOT_FILE = "capability_loss.png"


class LossTracker:
    """Computes the (optionally weighted) causal-LM loss and accumulates unweighted per-token loss sums."""

    def __init__(self, sources: Sequence[str]) -> None:
        self.sources = list(sources)
        self._sums: torch.Tensor | None = None  # [capabilities + sources] loss sums, then token counts

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, capability_ids: torch.Tensor,
             source_ids: torch.Tensor, weights: torch.Tensor | None = None,
             num_items: torch.Tensor | int | None = None) -> torch.Tensor:
        """Sum of (weight ×) token cross-entropy over supervised tokens, divided by ``num_items`` (the
        supervised tokens of the whole accumulated batch, as transformers counts them) or by this batch's."""
        # Shift by padding the targets rather than slicing the logits, as transformers' ForCausalLMLoss does:
        # slicing would copy the largest tensor of the step.
        target = F.pad(labels, (0, 1), value=IGNORE)[..., 1:].reshape(-1)
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.to(logits.device),
                             ignore_index=IGNORE, reduction="none")
        if weights is not None:
            w = F.pad(weights, (0, 1), value=0.0)[..., 1:].reshape(-1).to(ce.device)
            total = (ce * w).sum()
        else:
            total = ce.sum()
        mask = target.to(ce.device) != IGNORE
        denom = num_items if num_items is not None else mask.sum().clamp(min=1)
        self._track(ce.detach(), mask, capability_ids, source_ids)
        return total / denom

    @torch.no_grad()
    def _track(self, ce: torch.Tensor, mask: torch.Tensor, capability_ids: torch.Tensor,
               source_ids: torch.Tensor) -> None:
        # One small matrix product over a one-hot map of each token's capability and source bins (unsupervised
        # tokens go to a spare last bin): boolean indexing or bincount would make the host wait for the device
        # at every step, and index_add_ makes every token's atomic add contend for the same few bins on a GPU.
        n_cap = len(CAPABILITIES)
        size = n_cap + len(self.sources)
        caps = F.pad(capability_ids, (0, 1), value=0)[..., 1:].reshape(-1).to(ce.device)
        srcs = F.pad(source_ids, (0, 1), value=0)[..., 1:].reshape(-1).to(ce.device) + n_cap
        spare = torch.full_like(caps, size)
        bins = torch.arange(size + 1, device=ce.device)
        one_hot = ((torch.where(mask, caps, spare).unsqueeze(1) == bins)
                   | (torch.where(mask, srcs, spare).unsqueeze(1) == bins)).double()
        # float64 throughout: exact token counts, and no TF32 rounding of the sums.
        sums, counts = (torch.stack([ce.double() * mask, mask.double()]) @ one_hot)[:, :size]
        both = torch.cat([sums, counts])
        self._sums = both if self._sums is None else self._sums + both

    def collect(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
        """Mean loss and token count per capability and source since the last call (summed over processes by
        ``reduce``); entries with no tokens are left out. Every process must call it at the same steps."""
        size = len(CAPABILITIES) + len(self.sources)
        sums = self._sums if self._sums is not None else torch.zeros(2 * size, dtype=torch.float64)
        if reduce is not None:
            sums = reduce(sums)
        values = sums.tolist()
        self._sums = None
        out: dict[str, float] = {}
        names = [f"loss/{c}" for c in CAPABILITIES] + [f"loss/source/{s}" for s in self.sources]
        for i, name in enumerate(names):
            total, count = values[i], values[size + i]
            if count > 0:
                out[name] = total / count
                if i < len(CAPABILITIES):
                    out[f"tokens/{CAPABILITIES[i]}"] = int(count)
        return out


class MetricsFile(TrainerCallback):
    """Appends every log (training steps and the final summary) to ``OUTPUT/metrics.jsonl`` on the main
    process. A resumed run appends after the steps already there."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, **{k: _finite(v) for k, v in logs.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    # JSON has no NaN/inf: a diverged loss is written as null and is visible as a gap in the plot.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot(metrics: Path, out: Path) -> Path:
    """``capability_loss.png``: loss per capability (left) and per source (right) against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_rows = read_metrics(metrics)
    rows = [r for r in all_rows if "loss" in r and "train_runtime" not in r]
    held_out = [r for r in all_rows if "eval_loss" in r]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, prefix, title in ((axes[0], "loss/", "per capability"), (axes[1], "loss/source/", "per source")):
        keys = sorted({k for r in rows for k in r if k.startswith(prefix) and
                       (prefix != "loss/" or not k.startswith("loss/source/"))})
        colours = plt.get_cmap("tab10" if len(keys) <= 10 else "tab20")
        for n, key in enumerate(keys):
            points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points, strict=True), marker=".", label=key[len(prefix):], color=colours(n % 20))
            # The same capability or source on the held-out samples, dotted in the same colour.
            points = [(r["step"], r[f"eval_{key}"]) for r in held_out if r.get(f"eval_{key}") is not None]
            if points:
                ax.plot(*zip(*points, strict=True), linestyle=":", marker="x", color=colours(n % 20))
        if held_out:
            ax.plot([], [], linestyle=":", marker="x", color="grey", label="held out (dotted)")
        if prefix == "loss/":
            points = [(r["step"], r["loss"]) for r in rows if r.get("loss") is not None]
            if points:
                ax.plot(*zip(*points, strict=True), color="black", linestyle="--", label="loss (training)")
        ax.set_title(f"Token loss {title}")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    axes[0].set_ylabel("mean cross-entropy")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
