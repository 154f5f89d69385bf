"""``agentflan eval`` (being built; see the issue for this command)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app  # not registered until implemented
