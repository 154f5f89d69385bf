"""Helpers of the experiment tests. A shortened grid: the shipped experiment's shape (variants × seeds from one pretrained tiny model, Agent-H
decontaminated against every build, BFCL, held-out calls and losses) on the bundled demo data, sized to run in
seconds. Agent-H and BFCL read the real corpora, so the grid needs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

RECIPE = {
    "name": "small", "seed": 0,
    "agent": {"inputs": [{"path": "bundled:demo_agent.jsonl", "format": "canonical", "name": "demo-agent"}]},
    "alignment": {"react_fraction": 0.25},
    "balance": {"mode": "mask", "weights": {"reasoning": 1.0, "retrieval": 0.25, "understanding": 0.75}},
    "instruct": {"count": 2},
    "negatives": {"counts": {"no_tools_needs_tool": 2, "tools_given_no_need": 1}},
    "general": {"inputs": [{"path": "bundled:demo_general.jsonl", "name": "demo-general"}], "ratio": 1.0},
}
TRAIN = {
    "data": "unused", "output_dir": "unused",
    "model": {"tiny": {"vocab_size": 400, "hidden_size": 32, "intermediate_size": 64, "num_layers": 1,
                       "num_heads": 2, "tokenizer_samples": 300}},
    "labels": {"max_length": 256}, "lr": 0.005, "warmup_ratio": 0.0, "per_device_batch_size": 2,
    "packing": True, "bf16": False, "logging_steps": 1,
}
EXPERIMENT = {
    "name": "small-grid",
    "variants": {
        "react": {"recipe": "recipe.yaml", "paper": "agenttuning",
                  "set": ["alignment.react_fraction=1.0", "balance.mode=none", "negatives={}", "instruct.count=0"]},
        "full": {"recipe": "recipe.yaml", "paper": "agent-flan"},
    },
    "seeds": [0, 1],
    "held_out": {"fraction": 0.3, "seed": 0},
    "train": {"config": "train.yaml"},
    "budget": {"tokens": 1500},
    "pretrain": {"corpus": {"recipe": "recipe.yaml", "set": ["alignment.react_fraction=0", "instruct.count=0",
                                                             "negatives={}", "balance.mode=none"]},
                 "tokens": 1500},
    "benchmarks": {"agent_h": {"limit": 1}, "bfcl": {"categories": ["simple_python", "irrelevance"], "limit": 1},
                   "held_out_calls": {"limit": 2}, "held_out_loss": {"agent": 2, "general": 2, "max_length": 1024},
                   "max_new_tokens": 8, "batch_size": 8},
}


def write_experiment(folder: Path, **changes: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.yaml").write_text(yaml.safe_dump(RECIPE), encoding="utf-8")
    (folder / "train.yaml").write_text(yaml.safe_dump(TRAIN), encoding="utf-8")
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump({**EXPERIMENT, **changes}, sort_keys=False), encoding="utf-8")
    return path


def command(experiment: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agentflan", "experiment", str(experiment), "-o", str(out), "-q", *extra]


def run(experiment: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(experiment, out, *extra), capture_output=True, text=True, timeout=600,
                          env={**os.environ})


def units_of(out: Path) -> dict[str, dict[str, object]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "units").glob("*.json"))}
