"""`formats.base.files_in`, the listing that readers scanning a corpus's other files (API-Bank, ToolTalk) make
for every record: kept while the folders stay as they were, listed again once one changes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.formats.base import files_in

_names = st.lists(st.sampled_from(["a.json", "b.json", "c.jsonl", "Z.json", "d.txt", "e.json.gz"]), unique=True)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "a-b", "a.b", "ab", "b"]), _names, min_size=1, max_size=3),
       st.sampled_from(["*.json", "*.jsonl", "*"]))
def test_a_listing_is_the_sorted_glob_of_every_folder(folders: dict[str, list[str]], pattern: str) -> None:
    with tempfile.TemporaryDirectory() as root:
        paths = []
        for folder_name, names in folders.items():
            folder = Path(root) / folder_name
            folder.mkdir()
            for name in names:
                (folder / name).write_text("{}")
            paths.append(folder)
        paths.append(Path(root) / "absent")  # holds nothing, raises nothing
        # in the order of the paths, which is not the order of their strings ("a/x" before "a-b/x")
        expected = tuple(str(f) for f in sorted(f for p in paths for f in p.glob(pattern)))
        assert files_in(paths, pattern) == expected
        assert files_in(paths, pattern) == expected  # kept, the same


def test_a_folder_that_changes_is_listed_again(tmp_path: Path) -> None:
    one, two = tmp_path / "train", tmp_path / "test"
    one.mkdir()
    two.mkdir()
    (one / "a.json").write_text("{}")
    assert files_in([one, two], "*.json") == (str(one / "a.json"),)
    (two / "b.json").write_text("{}")
    # a coarse clock may leave the folder's time as it was within a few milliseconds: move it on, as time would
    stamp = os.stat(two).st_mtime_ns
    os.utime(two, ns=(stamp + 10_000_000, stamp + 10_000_000))
    assert files_in([one, two], "*.json") == (str(two / "b.json"), str(one / "a.json"))  # sorted: test/ first
    (one / "a.json").unlink()
    stamp = os.stat(one).st_mtime_ns
    os.utime(one, ns=(stamp + 10_000_000, stamp + 10_000_000))
    assert files_in([one, two], "*.json") == (str(two / "b.json"),)
