"""CI (`.ci/run`) runs exactly the README's test command: what a contributor runs is what CI checks."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _checks(command: str) -> str:
    """The command after its install step, as run (the install's own flags, such as pip's -q, aside)."""
    return command.split(" && ", 1)[1].strip() if "pip install" in command.split(" && ", 1)[0] else command


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("Run the tests", 1)[1]
    block = re.search(r"```bash\n(.+?)\n```", section, re.S)
    assert block is not None
    readme_command = block.group(1).split(" && ", 2)[2]  # after `python3 -m venv .venv && . .venv/bin/activate`
    ci_line = next(line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.startswith("pip install"))
    assert _checks(ci_line) == _checks(readme_command)
    assert {"ruff check .", "lint-imports", "mypy"} <= set(_checks(ci_line).split(" && "))
    assert "--doctest-modules src" in ci_line
