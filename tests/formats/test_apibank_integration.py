"""`agentflan convert --from auto` on the real API-Bank dialogues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.pipeline.convert import convert

pytestmark = pytest.mark.integration


def test_convert_auto_apibank(real_file, tmp_path: Path) -> None:
    src = real_file("api-bank/lv1-lv2-samples")
    result = convert([src], "auto", "openai", tmp_path / "apibank.jsonl", show_progress=False)
    m = result.manifest
    assert {i["format"] for i in m["inputs"] if i["accepted"]} == {"apibank"}
    assert m["read"] == 264 == m["written"] + m["rejected"]
    assert m["written"] / m["read"] >= 0.99
    # The one rejection is the file that is empty upstream.
    rejects = [json.loads(line) for line in result.rejects.read_text().splitlines()]
    assert [(Path(r["source"]).name, r["reason"]) for r in rejects] == [("SearchEngine-level-1-1.jsonl", "empty_file")]
    rows = [json.loads(line) for line in result.output.read_text().splitlines()]
    searched = [r for r in rows if any(c["function"]["name"] == "ToolSearcher" for m in r["messages"]
                                       for c in m.get("tool_calls", []))]
    assert len(searched) >= 40
    assert all(any(t["function"]["description"] for t in r["tools"]) for r in searched)
