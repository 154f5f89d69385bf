"""Issue 12's remaining defects, each reproduced as it was reported: crashes on unrelated side files, BFCL class
names, a BOM in a ToolTalk file, a `$...$` file name in audit, `eval classify X -o X`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

runner = CliRunner()
FIXTURES = Path(__file__).parent / "formats" / "fixtures" / "fc"


def _convert(*args: str) -> tuple[int, dict, list[dict]]:
    result = runner.invoke(app, ["convert", *args, "-q"])
    assert "Traceback" not in result.output
    out = Path(args[args.index("-o") + 1])
    if result.exit_code != 0:
        return result.exit_code, {}, []
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    rejects = [json.loads(x) for x in out.with_name(out.name + ".rejects.jsonl").read_text().splitlines()]
    return result.exit_code, manifest, rejects


def test_a_bom_in_a_tooltalk_file_loses_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "tooltalk"
    folder.mkdir(parents=True)
    (folder / "FeedCat-0.json").write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "tooltalk/tooltalk/FeedCat-0.json").read_bytes())
    (traj,) = read_file(folder / "FeedCat-0.json")
    assert isinstance(traj, Trajectory) and traj.metadata["tooltalk"]["conversation_id"] == "7"


def test_tooltalk_and_apibank_read_no_unrelated_file(tmp_path: Path) -> None:
    """They used to read every */*.json next to the input's parent, and crashed on unrelated files there."""
    conv = tmp_path / "mine" / "conv.json"
    conv.parent.mkdir()
    shutil.copy(FIXTURES / "tooltalk/tooltalk/FeedCat-0.json", conv)
    dialogue = tmp_path / "level-1-mine" / "d.jsonl"
    dialogue.parent.mkdir()
    shutil.copy(FIXTURES / "apibank/level-1-given-desc/OrderPizza-Weather-level-1-1.jsonl", dialogue)
    for junk in ("other", "level-2-toolsearcher"):
        (tmp_path / junk).mkdir()
        (tmp_path / junk / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
        (tmp_path / junk / "deep.jsonl").write_text('{"role": "API", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
        (tmp_path / junk / "binary.json").write_bytes(bytes(range(256)) * 100)
    code, manifest, rejects = _convert(str(conv), str(dialogue), "-o", str(tmp_path / "o.jsonl"))
    assert code == 0 and manifest["written"] == 2 and rejects == []
    # The ToolTalk file is not in ToolTalk's layout: no side files. The API-Bank one reads its ToolSearcher
    # folder, whose unreadable files are skipped.
    assert [s["path"] for s in manifest["side_files"]] == [str(tmp_path / "level-2-toolsearcher" / "deep.jsonl")]


def test_bfcl_class_names_are_never_file_names(tmp_path: Path) -> None:
    folder = tmp_path / "bfcl"
    shutil.copytree(FIXTURES / "bfcl", folder)
    rows = [{"id": f"mt_{i}", "question": [[{"role": "user", "content": "x"}]], "involved_classes": [name]}
            for i, name in enumerate(["A" * 300, "../../../etc/passwd", "MathAPI"])]
    path = folder / "BFCL_v4_multi_turn_x.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, manifest, rejects = _convert(str(path), "-o", str(tmp_path / "o.jsonl"))
    assert code == 0 and manifest["read"] == 3 and manifest["written"] == 1
    assert [(r["index"], r["reason"]) for r in rejects] == [(0, "invalid_class"), (1, "invalid_class")]
    assert [s["path"] for s in manifest["side_files"]] == [str(folder / "multi_turn_func_doc" / "math_api.json")]


def test_an_unknown_identifier_class_is_a_missing_doc(tmp_path: Path) -> None:
    stats = InputStats(str(FIXTURES / "bfcl/BFCL_v4_demo_multi_turn.json"), "")
    out = list(read_file(FIXTURES / "bfcl/BFCL_v4_demo_multi_turn.json", "bfcl", stats))
    assert [r.reason for r in out if isinstance(r, Reject)] == ["func_doc_missing"]
    assert list(stats.side_files) == [str(FIXTURES / "bfcl/multi_turn_func_doc/math_api.json"),
                                      str(FIXTURES / "bfcl/possible_answer/BFCL_v4_demo_multi_turn.json")]


def test_audit_of_a_file_whose_name_looks_like_mathtext(tmp_path: Path) -> None:
    src = tmp_path / "a$\\frac{1}{$b_$x^$.jsonl"
    shutil.copy(FIXTURES / "openai_mixed.jsonl", src)
    result = runner.invoke(app, ["audit", str(src), "-o", str(tmp_path / "report"), "-q"])
    assert result.exit_code == 0, result.output
    assert "$\\frac{1}{$b_$x^$" in (tmp_path / "report" / "report.html").read_text()


def test_eval_classify_never_overwrites_its_input(tmp_path: Path) -> None:
    src = tmp_path / "replies.jsonl"
    src.write_text('{"id": "a", "reply": "Hello."}\n')
    result = runner.invoke(app, ["eval", "classify", str(src), "-o", str(src)])
    assert result.exit_code == 2 and "is the input" in " ".join(result.output.split())
    assert src.read_text() == '{"id": "a", "reply": "Hello."}\n'
