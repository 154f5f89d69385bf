"""Where the real corpora live: one setting, ``AGENTFLAN_DATA`` (default ``../shared/data``)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "AGENTFLAN_DATA"
DEFAULT_DATA = "../shared/data"


def data_root() -> Path:
    return Path(os.environ.get(DATA_ENV, DEFAULT_DATA)).expanduser()


def cache_dir() -> Path:
    """Downloads (e.g. the bfcl-eval wheel) are cached here: ``$AGENTFLAN_CACHE`` or ``~/.cache/agentflan``."""
    return Path(os.environ.get("AGENTFLAN_CACHE", Path.home() / ".cache" / "agentflan")).expanduser()
