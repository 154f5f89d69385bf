"""The shape rules of DEVELOPERS.md that a machine can check: no function in ``src/`` is longer than 80 lines
(decorators, signature and docstring included), so every command reads as a short recipe over shared parts."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 80


def function_lengths(root: Path = SRC) -> list[tuple[int, str]]:
    """(lines, "file:line name") of every function and method under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                found.append((node.end_lineno - start + 1, f"{path.relative_to(root)}:{start} {node.name}"))
    return found


def test_no_function_in_src_is_longer_than_80_lines() -> None:
    lengths = function_lengths()
    assert len(lengths) > 500  # the walk found the package
    too_long = sorted(((n, where) for n, where in lengths if n > MAX_LINES), reverse=True)
    assert not too_long, f"functions over {MAX_LINES} lines: {too_long}"


def test_the_check_counts_decorators_and_docstrings(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("@decorator\ndef f():\n    '''Doc.'''\n    return 1\n")
    assert function_lengths(tmp_path) == [(4, "m.py:1 f")]
