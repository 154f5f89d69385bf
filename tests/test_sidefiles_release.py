"""`sidefiles.release`: a build lets go of the side files once it has read its inputs, and what readers derived
from them; a side file opened again afterwards is read again, the same."""

from __future__ import annotations

import json
from pathlib import Path

from agentflan.formats.base import derived_from_side_files
from agentflan.pipeline import sidefiles


def test_release_forgets_side_files_and_what_was_derived(tmp_path: Path) -> None:
    side = tmp_path / "tools.jsonl"
    side.write_text(json.dumps({"name": "search"}) + "\n", encoding="utf-8")
    calls = []

    @derived_from_side_files(maxsize=1)
    def names(found: object) -> list[str]:
        calls.append(found)
        return [r["name"] for r in found.records]  # type: ignore[attr-defined]

    first = sidefiles.load(side)
    assert first is not None and names(first) == ["search"] and names(first) == ["search"]
    assert len(calls) == 1 and sidefiles.load(side) is first  # cached until released
    sidefiles.release()
    again = sidefiles.load(side)
    assert again is not None and again is not first and again.records == first.records
    assert names(first) == ["search"] and len(calls) == 2  # the derived cache was cleared too
