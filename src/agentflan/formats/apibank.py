"""``apibank``: API-Bank dialogues (``lv1-lv2-samples/**.jsonl``), one dialogue per FILE, one JSON per turn::

    {"role": "User", "text": "Add a meeting tomorrow at 2pm"}
    {"role": "AI", "text": "Sure, let me add it."}
    {"role": "API", "api_name": "AddAgenda", "param_dict": {"time": "..."},
     "result": {"api_name": "AddAgenda", "input": {...}, "output": "success", "exception": null}}
    {"role": "AI", "text": "The agenda has been added."}

``User`` → user, ``AI`` → assistant, ``API`` → a call (``param_dict``, as the model wrote it; ``result.input`` is
the executed, type-converted copy) on the assistant turn just before it (or a new one), then a ``tool`` message with
the ``output`` (JSON text unless it is a string; with the ``exception`` when there is one).

Tools: API-Bank's API descriptions are Python classes, not data, except where a ``ToolSearcher`` call returned
them (``level-2-toolsearcher``): those descriptions (name, description, ``input_parameters``) are used, both for
the dialogue that retrieved them and, by name, for dialogues in sibling folders of the same corpus
(``level-1-given-desc``): for a dialogue in a ``level-*`` folder, the dialogues of the ``level-*-toolsearcher``
folders beside it are read as side files. An API with no description anywhere (and ``ToolSearcher`` itself) gets a schema
synthesised from the arguments observed in the dialogue, with no description and nothing required; their names are
listed in ``metadata["tools_synthesized"]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, SideFile, derived_from_side_files, files_in, require
from agentflan.formats.canonical import validated
from agentflan.formats.openai import arguments
from agentflan.schema import Message, Role, Tool, ToolCall, Trajectory
from agentflan.toolschema import normalise_schema, schema_from_examples

_ROLES: dict[str, Role] = {"User": "user", "AI": "assistant"}
SEARCHER = "ToolSearcher"
LEVEL_PREFIX = "level-"  # API-Bank's sample folders: level-1-given-desc, level-2-toolsearcher


def tool_from_description(desc: Any) -> Tool | None:
    """A `Tool` from an API-Bank description ``{name, description, input_parameters: {arg: {type, description}}}``."""
    if not isinstance(desc, dict) or not isinstance(desc.get("name"), str) or not desc["name"]:
        return None
    params = desc.get("input_parameters")
    properties = {k: v for k, v in params.items() if isinstance(v, dict)} if isinstance(params, dict) else {}
    description = desc.get("description")
    return Tool(name=desc["name"], description=description if isinstance(description, str) else "",
                parameters=normalise_schema({"type": "object", "properties": properties}))


def _searched(turn: dict[str, Any]) -> list[Tool]:
    if turn.get("api_name") != SEARCHER or not isinstance(turn.get("result"), dict):
        return []
    output = turn["result"].get("output")
    found = [tool_from_description(d) for d in (output if isinstance(output, list) else [output])]
    return [t for t in found if t is not None]


def _corpus_descriptions(ctx: RecordContext) -> dict[str, Tool]:
    """Every API description a ToolSearcher call returned in API-Bank's ToolSearcher folders beside the record's."""
    folder = Path(ctx.path).parent
    if not folder.name.startswith(LEVEL_PREFIX):
        return {}
    try:
        searchers = [d for d in files_in([folder.parent], f"{LEVEL_PREFIX}*-toolsearcher") if os.path.isdir(d)]
        files = files_in(searchers, "*.jsonl")
    except OSError:
        return {}
    return _descriptions_in(tuple(side for f in files if (side := ctx.side_file(f)) is not None))


# One corpus at a time is read (its records share one scan); more would keep whole corpora alive.
@derived_from_side_files(maxsize=1)
def _descriptions_in(sides: tuple[SideFile, ...]) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for side in sides:
        for turn in side.records:
            if isinstance(turn, dict):
                for tool in _searched(turn):
                    tools.setdefault(tool.name, tool)
    return tools


def synthesize_tool(name: str, observed: list[dict[str, Any]]) -> Tool:
    return Tool(name=name, parameters=schema_from_examples(observed))


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    if not isinstance(value, list):
        raise RecordError("wrong_type", "an API-Bank record is the list of a file's turns (read with group_file)")
    messages: list[Message] = []
    retrieved: dict[str, Tool] = {}
    observed: dict[str, list[dict[str, Any]]] = {}
    for i, turn in enumerate(value):
        where = f"turns.{i}"
        role = require(turn, "role", str, where)
        if role in _ROLES:
            messages.append(Message(role=_ROLES[role], content=require(turn, "text", str, where)))
            continue
        if role != "API":
            raise RecordError("invalid_role", f"{where}.role is {role!r} (User, AI or API)", f"{where}.role")
        name = require(turn, "api_name", str, where)
        args = arguments(turn.get("param_dict"), f"{where}.param_dict")
        result = require(turn, "result", dict, where)
        call = validated(ToolCall, where, name=name, arguments=args)
        observed.setdefault(name, []).append(args)
        last = messages[-1] if messages else None
        if last is not None and last.role == "assistant" and not last.tool_calls:
            last.tool_calls.append(call)  # the AI's words right before the call introduce it
        else:
            messages.append(Message(role="assistant", tool_calls=[call]))
        messages.append(Message(role="tool", name=name, content=_result_text(result)))
        for tool in _searched(turn):
            retrieved.setdefault(tool.name, tool)
    if not messages:
        raise RecordError("empty_conversation", "the dialogue has no turns")
    corpus = _corpus_descriptions(ctx) if observed else {}
    tools: list[Tool] = list(retrieved.values())
    synthesized = []
    for name, calls in observed.items():
        if name in retrieved:
            continue
        if name in corpus:
            tools.append(corpus[name])
        else:
            tools.append(synthesize_tool(name, calls))
            synthesized.append(name)
    metadata: dict[str, Any] = {"apibank": {"split": Path(ctx.path).parent.name}}
    if synthesized:
        metadata["tools_synthesized"] = synthesized
    yield validated(Trajectory, "<record>", id=ctx.default_id(), tools=tools, messages=messages,
                    provenance=ctx.provenance(), metadata=metadata)


def _result_text(result: dict[str, Any]) -> str:
    output = result.get("output")
    if result.get("exception") is not None:
        return json.dumps({"output": output, "exception": result["exception"]}, ensure_ascii=False)
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)


def detect(value: Any, path: str) -> bool:
    # The pipeline shows detection the file's first turn, not the grouped dialogue.
    return isinstance(value, dict) and value.get("role") in ("User", "AI", "API") and (
        "text" in value or "api_name" in value)


READER = Reader("apibank", read, detect, "API-Bank dialogues: one file per dialogue, one JSON per turn "
                "(User/AI/API)", priority=30, group_file=True)
