"""`InputFile` keeps where a file is opened as a head shared by many files and its recorded path, not a string of
its own per file: the paths it gives back must be exactly those it was given."""

from __future__ import annotations

import os
import string
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.pipeline.inputs import Inputs

NAMES = st.text(string.ascii_letters + string.digits + "_-~.", min_size=1, max_size=12).filter(
    lambda s: s not in (".", ".."))


@settings(max_examples=40, deadline=None)
@given(folders=st.lists(NAMES, min_size=1, max_size=3), files=st.lists(NAMES, min_size=1, max_size=4, unique=True),
       recorded=st.sampled_from(["as_given", "relative", "suffix", "other"]))
def test_locations_are_the_paths_expanded(tmp_path_factory, folders, files, recorded):
    root = tmp_path_factory.mktemp("in")
    folder = root.joinpath(*folders)
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / f"{name}.jsonl").write_text("{}\n", encoding="utf-8")
    expected = sorted(str(folder / f"{name}.jsonl") for name in files)
    inputs = Inputs()
    if recorded == "as_given":
        added = inputs.add([folder])
    elif recorded == "relative":
        added = inputs.add([folder], relative_to=root)
    else:  # one file at a time, recorded as a recipe does: a suffix of the path, or a name the path does not end with
        added = [f for path in expected for f in inputs.add(
            [path], source=path[len(str(root)) + 1:] if recorded == "suffix" else f"elsewhere/{Path(path).name}!")]
    assert sorted(f.location for f in added) == expected
    assert sorted(str(f.path) for f in added) == expected
    for f in added:
        if recorded == "relative":
            assert f.source == os.path.relpath(f.location, root)
        if recorded in ("as_given", "relative"):
            assert f.given == str(folder)
        else:
            assert f.given == f.location


def test_files_of_one_folder_share_one_head(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.jsonl").write_text("{}\n", encoding="utf-8")
    one_by_one = Inputs()
    added = [f for i in range(5) for f in one_by_one.add([tmp_path / f"{i}.jsonl"], source=f"{i}.jsonl")]
    assert len({id(f.head) for f in added}) == 1
    assert [f.location for f in added] == [str(tmp_path / f"{i}.jsonl") for i in range(5)]
    folder = Inputs([tmp_path]).files
    assert len({id(f.head) for f in folder}) == 1
    assert len({id(f.given) for f in folder}) == 1
