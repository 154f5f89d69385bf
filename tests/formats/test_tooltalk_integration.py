"""`agentflan convert --from auto` on the real ToolTalk conversations (both folders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentflan.cli import app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("folder", "expected"), [("tooltalk", 50), ("easy", 28)])
def test_convert_auto_tooltalk(real_file, tmp_path: Path, folder: str, expected: int) -> None:
    src = real_file(f"ToolTalk/data/{folder}")
    out = tmp_path / f"{folder}.jsonl"
    result = CliRunner().invoke(app, ["convert", str(src), "--from", "auto", "--to", "openai", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(Path(f"{out}.manifest.json").read_text())
    assert {i["format"] for i in manifest["inputs"]} == {"tooltalk"}
    assert manifest["read"] == expected == manifest["written"] + manifest["rejected"]
    assert manifest["written"] / manifest["read"] >= 0.99
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["tools"] and r["metadata"]["tools_synthesized"] for r in rows if any(
        m.get("tool_calls") for m in r["messages"]))
    assert sum(len(m.get("tool_calls", [])) for r in rows for m in r["messages"]) > 0
