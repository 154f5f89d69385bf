"""The docs list every call syntax with the registry's own example, in precedence order, and the README's eval
row names them all."""

from __future__ import annotations

from pathlib import Path

from agentflan.calls import SYNTAXES

ROOT = Path(__file__).resolve().parents[2]


def _code(text: str) -> str:
    text = text.replace("\n", "\\n").replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def test_evaluation_doc_lists_every_syntax_in_order() -> None:
    doc = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    positions = []
    for i, s in enumerate(SYNTAXES, 1):
        row = f"| {i} | `{s.name}` | "
        assert row in doc, f"docs/evaluation.md has no row {row!r}"
        line = doc[doc.index(row):].split("\n", 1)[0]
        assert line.endswith(f"| {_code(s.example)} |"), (s.name, line)
        positions.append(doc.index(row))
    assert positions == sorted(positions)


def test_readme_eval_row_names_every_syntax() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `agentflan eval"))
    missing = [s.name for s in SYNTAXES if f"`{s.name}`" not in row]
    assert not missing, f"README's eval row does not name {missing}"
