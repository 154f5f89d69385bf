"""Fixtures for the audit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_fixtures import call_traj, write_jsonl


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small function-call corpus with one of every problem the audit reports, plus a broken line."""
    trajs = [
        call_traj("ok-1"),
        call_traj("ok-2", query="What is the weather in Berlin today, in celsius please?",
                  arguments={"city": "Berlin", "unit": "C"}),
        call_traj("copy-of-ok-1"),  # exact duplicate of ok-1 (ids differ)
        call_traj("unknown", name="wether"),
        call_traj("missing", arguments={"unit": "C"}),
    ]
    return write_jsonl(tmp_path / "corpus.jsonl", trajs, ['{"id": "broken", "messages": [', "not json"])
