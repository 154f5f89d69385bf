"""``bfcl``: Berkeley Function Calling Leaderboard v4 question files (``BFCL_v4_<category>.json``, JSON Lines).

::

    {"id": "simple_python_0",
     "question": [[{"role": "user", "content": "Find the area of a triangle ..."}]],
     "function": [{"name": "calculate_triangle_area", "description": "...",
                   "parameters": {"type": "dict", "properties": {"base": {"type": "integer"}}, "required": [...]}}]}

Each inner list of ``question`` is one user turn (multi-turn entries have several; a turn may be empty where
BFCL adds a held-out function instead). Schemas in BFCL's dialect (``dict``, ``float``, ``tuple``, ``any``) are
normalised to JSON Schema. Multi-turn entries have no ``function``: their tools are the functions of the
``involved_classes``, read from ``multi_turn_func_doc/`` beside the file, minus ``excluded_function``. Entries
with no tools (some of ``live_irrelevance``) are valid: ``tools == []``.

The trajectory holds the prompt only (no assistant turn: BFCL is an evaluation set). ``metadata["bfcl"]`` holds
``category`` (from the file name), ``ground_truth`` (from ``possible_answer/<same file name>`` when that exists
and has the id: BFCL's ``[{func: {arg: [allowed values]}}]``, or, for multi-turn, one list of call strings per
turn), and for multi-turn entries ``involved_classes``, ``initial_config``, ``path``, ``excluded_function`` and
``missed_function`` (functions BFCL withholds until a given turn; they are in ``tools``). In multi-turn entries
each message's ``metadata["bfcl_turn"]`` says which question turn it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, SideFile, derived_from_side_files, require
from agentflan.formats.canonical import validated
from agentflan.formats.openai import parse_tools
from agentflan.schema import Message, Tool, Trajectory

# bfcl_eval's MULTI_TURN_FUNC_DOC_FILE_MAPPING: class name → file under multi_turn_func_doc/.
FUNC_DOC_FILES = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
    "WebSearchAPI": "web_search.json",
    "MemoryAPI_kv": "memory_kv.json",
    "MemoryAPI_vector": "memory_vector.json",
    "MemoryAPI_rec_sum": "memory_rec_sum.json",
}
_MULTI_TURN_KEYS = ("involved_classes", "initial_config", "path", "excluded_function", "missed_function")
_FILE_NAME = re.compile(r"^BFCL_v\d+_(?P<category>.+?)(?:\.jsonl?)?$")
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


def bfcl_category(path: str | Path) -> str:
    """``BFCL_v4_live_simple.json`` → ``live_simple`` (the file stem when the name is not BFCL's)."""
    name = Path(path).name
    m = _FILE_NAME.match(name)
    return m.group("category") if m else Path(path).stem


@derived_from_side_files(maxsize=32)
def _answers(side: SideFile) -> dict[str, Any]:
    return {a["id"]: a["ground_truth"] for a in side.records
            if isinstance(a, dict) and isinstance(a.get("id"), str) and "ground_truth" in a}


def _func_doc(docs: Path, cls: str) -> Path:
    """The function doc of a multi-turn class: BFCL's own file for its classes, ``<class>.json`` for others."""
    if cls in FUNC_DOC_FILES:
        return docs / FUNC_DOC_FILES[cls]
    if not _CLASS_NAME.fullmatch(cls):
        raise RecordError("invalid_class", f"involved class {cls[:80]!r} is not a class name", "involved_classes")
    return docs / f"{cls}.json"


def _class_tools(ctx: RecordContext, classes: list[str], excluded: list[str]) -> list[Tool]:
    docs = Path(ctx.path).parent / "multi_turn_func_doc"
    tools: list[Tool] = []
    for cls in classes:
        doc = _func_doc(docs, cls)
        side = ctx.side_file(doc)
        if side is None:
            raise RecordError("func_doc_missing", f"no function doc for class {cls!r} (expected "
                              f"multi_turn_func_doc/{doc.name})", "involved_classes")
        functions = [{k: f.get(k) for k in ("name", "description", "parameters")}
                     for f in side.records if isinstance(f, dict)]
        tools.extend(t for t in parse_tools(functions, f"multi_turn_func_doc/{doc.name}") if t.name not in excluded)
    return tools


def _turns(question: Any) -> list[list[Any]]:
    if not isinstance(question, list) or not question:
        raise RecordError("wrong_type" if not isinstance(question, list) else "empty_conversation",
                          "question should be a non-empty list of turns", "question")
    if all(isinstance(q, dict) for q in question):
        return [question]  # older files: one turn, not nested
    for i, turn in enumerate(question):
        if not isinstance(turn, list):
            raise RecordError("wrong_type", f"question.{i} should be a list of messages", f"question.{i}")
    return question


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    record_id = require(value, "id", str)
    turns = _turns(require(value, "question", list))
    multi_turn = "involved_classes" in value
    messages: list[Message] = []
    for i, turn in enumerate(turns):
        for j, msg in enumerate(turn):
            where = f"question.{i}.{j}"
            role = require(msg, "role", str, where)
            if role not in ("system", "user", "assistant"):
                raise RecordError("invalid_role", f"{where}.role is {role!r}", f"{where}.role")
            messages.append(validated(Message, where, role=role, content=require(msg, "content", str, where),
                                      metadata={"bfcl_turn": i} if multi_turn else {}))
    if not messages:
        raise RecordError("empty_conversation", "question holds no message", "question")
    if multi_turn:
        classes = require(value, "involved_classes", list)
        excluded = value.get("excluded_function") or []
        tools = _class_tools(ctx, [str(c) for c in classes], excluded if isinstance(excluded, list) else [])
    else:
        tools = parse_tools(require(value, "function", list), "function")
    info: dict[str, Any] = {"category": bfcl_category(ctx.path)}
    answers = ctx.side_file(Path(ctx.path).parent / "possible_answer" / Path(ctx.path).name)
    if answers is not None:
        truth = _answers(answers).get(record_id)
        if truth is not None:
            info["ground_truth"] = truth
    info.update({k: value[k] for k in _MULTI_TURN_KEYS if k in value})
    yield validated(Trajectory, "<record>", id=record_id, tools=tools, messages=messages,
                    provenance=ctx.provenance(), metadata={"bfcl": info})


def detect(value: Any, path: str) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("question"), list) or "id" not in value:
        return False
    return "function" in value or "involved_classes" in value or Path(path).name.startswith("BFCL_")


READER = Reader("bfcl", read, detect, "BFCL v4 question files (+ possible_answer ground truth, multi-turn "
                "function docs)", priority=25)
