"""Shared fixtures. Real corpora are read in place from AGENTFLAN_DATA (default ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentflan.paths import DATA_ENV, data_root


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real-corpora root. Fails when AGENTFLAN_DATA is set but missing (CI must run these tests); skips,
    saying why, only when the variable is unset and the default path does not exist (a user's fresh clone)."""
    root = data_root()
    if root.is_dir():
        return root
    if os.environ.get(DATA_ENV):
        pytest.fail(f"{DATA_ENV}={os.environ[DATA_ENV]} is set but is not a directory")
    pytest.skip(f"real corpora not found: {DATA_ENV} is unset and the default {root} does not exist")


@pytest.fixture
def real_file(real_data: Path):
    """``real_file("FireAct/gpt_format/hotpotqa.jsonl")`` → path, failing if the file is missing."""

    def get(relative: str) -> Path:
        path = real_data / relative
        if not path.exists():
            pytest.fail(f"expected real data file {path} is missing")
        return path

    return get
