"""`convert`, `build` and `audit` on the shared corpora write the bytes they wrote before issue 11's
refactoring (`tests/golden_outputs.json`, recorded by `tests/golden.py` at the commit before it); manifests may
only gain fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golden import produce

GOLDEN = Path(__file__).with_name("golden_outputs.json")


@pytest.mark.integration
def test_outputs_are_byte_identical_to_the_recording(real_data: Path) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    actual = produce(real_data)
    assert sorted(actual) == sorted(expected)
    for run, files in expected.items():
        for name, want in files.items():
            got = actual[run].get(name)
            assert got is not None, f"{run}: {name} is no longer written"
            if isinstance(want, dict):  # a manifest: every recorded field, unchanged; new fields allowed
                changed = sorted(k for k in want if got.get(k) != want[k])
                assert not changed, f"{run}/{name}: fields changed: {changed}"
            else:
                assert got == want, f"{run}/{name} differs"
