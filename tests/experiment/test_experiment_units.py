"""Resumable units: skipped when done with the same inputs, redone (outputs cleared) when not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.errors import UsageError
from agentflan.experiment.units import Lock, Units, key_of


def _work(folder: Path, calls: list[str], text: str = "out"):
    def work() -> dict:
        calls.append(text)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "file.txt").write_text(text)
        return {"wrote": text}
    return work


def test_done_unit_is_skipped_and_changed_input_redone(tmp_path: Path) -> None:
    units = Units(tmp_path)
    calls: list[str] = []
    out = tmp_path / "a"
    key, result = units.run("step/a", {"x": 1}, [out], _work(out, calls))
    assert result == {"wrote": "out"} and calls == ["out"] and key == key_of({"x": 1})
    marker = json.loads((tmp_path / "units" / "step.a.json").read_text())
    assert marker["key"] == key and marker["inputs"] == {"x": 1}
    again = Units(tmp_path)
    assert again.run("step/a", {"x": 1}, [out], _work(out, calls))[1] == {"wrote": "out"}
    assert calls == ["out"] and again.skipped == ["step/a"] and again.ran == []
    (out / "stale.txt").write_text("left by the old inputs")
    changed = Units(tmp_path)
    changed.run("step/a", {"x": 2}, [out], _work(out, calls, "new"))
    assert calls == ["out", "new"] and changed.ran == ["step/a"]
    assert not (out / "stale.txt").exists()  # the outputs were cleared before the unit ran again


def test_a_unit_that_died_leaves_no_marker_and_runs_again(tmp_path: Path) -> None:
    units = Units(tmp_path)
    out = tmp_path / "b"

    def dies() -> dict:
        out.mkdir()
        (out / "half.txt").write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        units.run("b", {}, [out], dies)
    assert not units.marker("b").exists()
    calls: list[str] = []
    Units(tmp_path).run("b", {}, [out], _work(out, calls))
    assert calls == ["out"] and not (out / "half.txt").exists()


def test_a_marker_whose_outputs_are_gone_is_not_trusted(tmp_path: Path) -> None:
    calls: list[str] = []
    out = tmp_path / "c"
    Units(tmp_path).run("c", {}, [out], _work(out, calls))
    (out / "file.txt").unlink()
    out.rmdir()
    Units(tmp_path).run("c", {}, [out], _work(out, calls))
    assert calls == ["out", "out"]


def test_timings_are_kept_apart_from_markers(tmp_path: Path) -> None:
    out = tmp_path / "d"
    Units(tmp_path).run("d", {"k": 1}, [out], _work(out, []))
    marker = (tmp_path / "units" / "d.json").read_text()
    assert "seconds" not in marker
    assert json.loads((tmp_path / "timings.jsonl").read_text().splitlines()[0])["unit"] == "d"


def test_second_run_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    with Lock(tmp_path), pytest.raises(UsageError, match="another"), Lock(tmp_path):
        pass
    with Lock(tmp_path):  # released
        pass


def test_key_ignores_key_order_but_not_values() -> None:
    assert key_of({"a": 1, "b": [1, 2]}) == key_of({"b": [1, 2], "a": 1})
    assert key_of({"a": 1}) != key_of({"a": 1.5})
