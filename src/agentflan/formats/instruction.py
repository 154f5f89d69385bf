"""General (non-agent) data for mixing: ``instruction`` rows (self-instruct ``{instruction, instances:[{input,
output}]}`` and Alpaca ``{instruction, input, output}``) and ``questions`` rows (MT-Bench ``{question_id,
turns}``, questions without answers: `build` answers them with an endpoint or rejects them).

>>> ctx = RecordContext("seed_tasks.jsonl", 0, "instruction")
>>> [t.messages[1].content for t in read({"id": "t0", "instruction": "Say hi.", "output": "Hi!"}, ctx)]
['Hi!']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentflan.errors import RecordError
from agentflan.formats.base import ItemRejected, Reader, RecordContext, require
from agentflan.schema import Message, Trajectory


def _user_text(instruction: str, given: Any, where: str) -> str:
    if given in (None, ""):
        return instruction.strip()
    if not isinstance(given, str):
        raise RecordError("wrong_type", f"{where}.input should be str, got {type(given).__name__}", f"{where}.input")
    return f"{instruction.strip()}\n\n{given.strip()}"


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory | ItemRejected]:
    instruction = require(value, "instruction", str)
    if not instruction.strip():
        raise RecordError("empty_field", "instruction is empty", "instruction")
    base_id = str(value.get("id") or ctx.default_id())
    if "instances" in value:
        instances = require(value, "instances", list)
        if not instances:
            raise RecordError("empty_field", "instances is empty", "instances")
    else:
        instances = [{"input": value.get("input"), "output": require(value, "output", str)}]
    many = len(instances) > 1
    for i, inst in enumerate(instances):
        where = f"instances.{i}" if "instances" in value else ""
        item = str(i) if many else None
        try:
            output = require(inst, "output", str, where)
            if not output.strip():
                raise RecordError("empty_field", f"{where or ''}output is empty", f"{where}.output".strip("."))
            yield Trajectory(
                id=f"{base_id}#{i}" if many else base_id,
                messages=[Message(role="user", content=_user_text(instruction, inst.get("input"), where)),
                          Message(role="assistant", content=output.strip())],
                provenance=ctx.provenance(item),
                metadata={"kind": "general"},
            )
        except RecordError as err:
            yield ItemRejected(err, item)


def detect(value: Any, path: str) -> bool:
    return isinstance(value, dict) and isinstance(value.get("instruction"), str) and (
        "instances" in value or "output" in value)


def read_questions(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    turns = require(value, "turns", list)
    if not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise RecordError("wrong_type", "turns should be a non-empty list of non-empty strings", "turns")
    qid = value.get("question_id", value.get("id"))
    meta = {"kind": "general"}
    if isinstance(value.get("category"), str):
        meta["category"] = value["category"]
    if qid is not None and (not isinstance(qid, str | int) or isinstance(qid, bool) or str(qid) == ""):
        raise RecordError("wrong_type", "question_id should be a non-empty string or an integer", "question_id")
    yield Trajectory(id=str(qid) if qid is not None else ctx.default_id(),
                     messages=[Message(role="user", content=t.strip()) for t in turns],
                     provenance=ctx.provenance(), metadata=meta)


def detect_questions(value: Any, path: str) -> bool:
    return isinstance(value, dict) and isinstance(value.get("turns"), list) and "messages" not in value and (
        "question_id" in value or "category" in value)


READERS = [
    Reader("instruction", read, detect, "instruction/input/output rows (self-instruct, Alpaca) as general chat",
           priority=60),
    Reader("questions", read_questions, detect_questions,
           "questions without answers ({question_id, turns}, MT-Bench); answered at build time", priority=60),
]
