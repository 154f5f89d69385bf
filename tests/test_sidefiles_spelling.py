"""`sidefiles.recorded_path` keeps spellings per folder: what it returns must be what spelling each side file
afresh gives, for any paths, from any working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.pipeline.sidefiles import SideFiles, recorded_path


def _fresh(side: str, input_path: str, input_source: str) -> str:
    """The spelling, worked out in full each time (the code before spellings were kept)."""
    if input_source == input_path:
        return os.path.normpath(side)
    scheme, sep, rest = input_source.partition(":")
    if not sep or "/" in scheme:
        scheme, rest = "", input_source
    relative = os.path.relpath(side, os.path.dirname(input_path) or ".")
    spelled = os.path.normpath(os.path.join(os.path.dirname(rest), relative))
    return f"{scheme}:{spelled}" if scheme else spelled


_part = st.sampled_from(["a", "b", "data", "..", ".", "possible_answer", "x.json"])
_path = st.builds(lambda absolute, parts: ("/" if absolute else "") + "/".join(parts), st.booleans(),
                  st.lists(_part, min_size=1, max_size=4))
_source = _path | st.builds(lambda p: f"bfcl:{p}", _path)


@settings(max_examples=300, deadline=None)
@given(_path, _path, _source)
def test_a_kept_spelling_is_the_fresh_one(side: str, input_path: str, source: str) -> None:
    assert recorded_path(side, input_path, source) == _fresh(side, input_path, source)
    assert recorded_path(Path(side), input_path, source) == _fresh(side, input_path, source)
    opener = SideFiles(input_path, source)  # what a record's opener records, its input's part worked out once
    assert opener._recorded(side) == _fresh(side, input_path, source)


def test_the_working_directory_is_part_of_the_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shallow, deep = tmp_path / "one", tmp_path / "one" / "deeper"
    deep.mkdir(parents=True)
    # an absolute side file beside an input opened by a relative path: the way from one to the other depends on
    # where the command runs
    args = (str(tmp_path / "x.json"), "in/data.json", "corpus/data.json")
    monkeypatch.chdir(shallow)
    assert recorded_path(*args) == "../x.json" == _fresh(*args)
    monkeypatch.chdir(deep)
    assert recorded_path(*args) == "../../x.json" == _fresh(*args)
    monkeypatch.chdir(shallow)
    assert recorded_path(*args) == "../x.json"
