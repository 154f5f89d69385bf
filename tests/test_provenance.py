"""`provenance.licence_for`: the licence of the LICENSE file nearest to where an input really is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentflan.pipeline.provenance import licence_for


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """mit/LICENSE (MIT) with a.jsonl under mit/deep/; apache/LICENSE; a file link and a folder link into mit/;
    a file with no licence above it (within the depth searched)."""
    (tmp_path / "mit" / "deep").mkdir(parents=True)
    (tmp_path / "mit" / "LICENSE").write_text("MIT License\n")
    (tmp_path / "mit" / "deep" / "a.jsonl").write_text("{}\n")
    (tmp_path / "apache").mkdir()
    (tmp_path / "apache" / "LICENSE.txt").write_text("Apache License, Version 2.0\n")
    (tmp_path / "apache" / "b.jsonl").write_text("{}\n")
    os.symlink(tmp_path / "mit" / "deep" / "a.jsonl", tmp_path / "apache" / "linked.jsonl")
    os.symlink(tmp_path / "mit" / "deep", tmp_path / "apache" / "deeplink")
    return tmp_path


def test_a_licence_is_found_above_the_file_and_beside_where_a_link_leads(tree: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert licence_for(tree / "mit" / "deep" / "a.jsonl") == "MIT"
    assert licence_for(tree / "apache" / "b.jsonl") == "Apache-2.0"
    # a linked file, and a file under a linked folder, take the licence of where they really are, even where
    # the folder beside them (apache/) has one of its own
    assert licence_for(tree / "apache" / "linked.jsonl") == "MIT"
    assert licence_for(tree / "apache" / "deeplink" / "a.jsonl") == "MIT"
    # "deeplink/.." is mit/, where the link leads, not apache/ (as a lexical ".." would have it)
    assert licence_for(tree / "apache" / "deeplink" / ".." / "deep" / "a.jsonl") == "MIT"
    monkeypatch.chdir(tree / "apache")
    assert licence_for("b.jsonl") == "Apache-2.0" and licence_for("linked.jsonl") == "MIT"
    assert licence_for(tree / "mit" / "deep" / "a.jsonl", stop_at_depth=1) is None  # deep/ has none
