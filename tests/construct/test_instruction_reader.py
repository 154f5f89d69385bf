"""The general-data readers: instruction rows (self-instruct, Alpaca) and questions without answers (MT-Bench)."""

from __future__ import annotations

import json
from pathlib import Path

from construct_fixtures import write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.formats import detect_reader
from agentflan.formats.base import RecordContext
from agentflan.formats.instruction import read, read_questions
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject

CTX = RecordContext("x.jsonl", 0, "instruction", line=1)


def test_self_instruct_row_gives_one_conversation_per_instance() -> None:
    row = {"id": "seed_task_1", "instruction": "Sort the words.", "instances": [
        {"input": "b a", "output": "a b"}, {"input": "", "output": "nothing to sort"}]}
    out = list(read(row, CTX))
    assert [t.id for t in out] == ["seed_task_1#0", "seed_task_1#1"]
    assert out[0].messages[0].content == "Sort the words.\n\nb a" and out[1].messages[0].content == "Sort the words."
    assert out[0].messages[1].content == "a b" and out[0].metadata["kind"] == "general"
    assert out[0].provenance.item == "0" and out[0].provenance.line == 1


def test_alpaca_row_and_default_id() -> None:
    (t,) = read({"instruction": "Say hi.", "input": "", "output": "Hi!"}, CTX)
    assert t.id == "x:0" and [m.role for m in t.messages] == ["user", "assistant"]


def test_bad_rows_are_rejected_with_the_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "g.jsonl", [
        {"id": "ok", "instruction": "A", "output": "B"},
        {"id": "no-output", "instruction": "A"},
        {"id": "bad-inst", "instruction": "A", "instances": [{"input": "x", "output": "y"}, {"input": 3, "output": "z"}]},
        {"id": "empty", "instruction": "A", "output": "  "},
    ])
    stats = InputStats(str(path), "-")
    items = list(read_file(path, "instruction", stats))
    rejects = [i for i in items if isinstance(i, Reject)]
    assert stats.read == stats.accepted + stats.rejected == 5 and stats.accepted == 2
    assert {(r.reason, r.field) for r in rejects} == {("missing_field", "output"), ("wrong_type", "instances.1.input"),
                                                      ("empty_field", "output")}


def test_questions_reader_and_detection(tmp_path: Path) -> None:
    row = {"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Now shorter."]}
    (t,) = read_questions(row, CTX)
    assert t.id == "81" and [m.content for m in t.messages] == ["Write a poem.", "Now shorter."]
    assert t.metadata == {"kind": "general", "category": "writing"}
    assert detect_reader(row, "q.jsonl").name == "questions"
    assert detect_reader({"instruction": "a", "output": "b"}, "g.jsonl").name == "instruction"
    assert detect_reader({"messages": [], "turns": []}, "m.jsonl") is None or \
        detect_reader({"messages": [], "turns": []}, "m.jsonl").name != "questions"


@settings(max_examples=50, deadline=None)
@given(instruction=st.text(min_size=1).filter(str.strip), given_input=st.text(),
       output=st.text(min_size=1).filter(str.strip))
def test_reader_keeps_the_text(instruction: str, given_input: str, output: str) -> None:
    (t,) = read(json.loads(json.dumps({"instruction": instruction, "input": given_input, "output": output})), CTX)
    assert t.messages[0].content.startswith(instruction.strip())
    assert given_input.strip() in t.messages[0].content and t.messages[1].content == output.strip()
