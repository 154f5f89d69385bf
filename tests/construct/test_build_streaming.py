"""The spilled build (`construct.store`: an index in memory, trajectories read back when worked on) writes the
same bytes as the build that keeps every trajectory in memory, on the shared corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.config import load_config
from agentflan.construct.build import build
from agentflan.construct.recipe import Recipe

RECIPE = Path("recipes/agent-flan.yaml")


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "manifest.json"}


@pytest.mark.integration
@pytest.mark.parametrize("overrides", [[], ["masking.fraction=0.3", "balance.mode=weight"]])
def test_spilled_build_writes_the_same_bytes(real_data: Path, tmp_path: Path, overrides: list[str]) -> None:
    recipe = load_config(RECIPE, Recipe, overrides)
    kept = build(recipe, tmp_path / "memory", show_progress=False, in_memory=True)
    spilled = build(recipe, tmp_path / "spilled", show_progress=False)
    a, b = _files(tmp_path / "memory"), _files(tmp_path / "spilled")
    assert a.keys() == b.keys() and len(a) >= 8
    for name in a:
        assert a[name] == b[name], name
    written = json.loads((tmp_path / "spilled" / "manifest.json").read_text())
    assert spilled == written and kept["records"] == spilled["records"] > 1000
    for m in (kept, spilled):
        del m["outputs"], m["argv"]
    assert kept == spilled
