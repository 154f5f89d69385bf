"""``tooltalk``: ToolTalk conversations (``data/{tooltalk,easy}/*.json``, one conversation object per file)::

    {"name": ..., "conversation_id": "2", "suites_used": ["Calendar"], "apis_used": ["QueryCalendar"],
     "user": {...}, "metadata": {"location": ..., "timestamp": ...},
     "conversation": [{"index": 0, "role": "user", "text": "..."},
                      {"index": 1, "role": "assistant", "text": "...", "apis": [
                          {"request": {"api_name": "QueryCalendar", "parameters": {...}},
                           "response": {...}, "exception": null}]}]}

An assistant turn's ``apis`` ran before its text: each becomes an assistant call followed by its ``tool``
result (in order, since a later call may use an earlier result), then the assistant's text.

Tools: ToolTalk's APIs are Python classes that are not in the data (``databases/`` holds the simulated
accounts, calendars... not API definitions). The tools are the conversation's ``apis_used`` plus any API it
calls, each with a schema synthesised from every call of that API observed in the corpus (argument names and
value types only; no description, nothing required) — listed in ``metadata["tools_synthesized"]``. The corpus is
ToolTalk's layout, ``data/{tooltalk,easy}/*.json``: for a conversation in one of those folders, the
conversations of both are read as side files; elsewhere, only the conversation's own calls count. The
conversation's own fields (name, id, suites, user, scenario, location/time metadata) are kept in
``metadata["tooltalk"]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, SideFile, derived_from_side_files, files_in, require
from agentflan.formats.canonical import validated
from agentflan.formats.openai import arguments
from agentflan.schema import Message, Tool, ToolCall, Trajectory
from agentflan.toolschema import schema_from_examples

_KEPT = ("name", "conversation_id", "suites_used", "apis_used", "scenario", "user", "metadata")
SPLITS = ("easy", "tooltalk")  # ToolTalk's conversation folders under data/


def _requests(conversation: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(api name, parameters) of every well-formed call in a conversation; malformed ones are skipped here
    (the conversation's own read rejects them)."""
    for turn in conversation if isinstance(conversation, list) else []:
        for api in (turn.get("apis") or []) if isinstance(turn, dict) else []:
            request = api.get("request") if isinstance(api, dict) else None
            if isinstance(request, dict) and isinstance(request.get("api_name"), str) and isinstance(
                    request.get("parameters"), dict):
                yield request["api_name"], request["parameters"]


def _corpus_calls(ctx: RecordContext) -> dict[str, list[dict[str, Any]]]:
    """Arguments of every call per API across ToolTalk's conversation folders, when the record is in one."""
    folder = Path(ctx.path).parent
    if folder.name not in SPLITS:
        return {}
    try:
        files = files_in([folder.parent / split for split in SPLITS], "*.json")
    except OSError:
        return {}
    return _calls_in(tuple(side for f in files if (side := ctx.side_file(f)) is not None))


# One corpus at a time is read (its records share one scan); more would keep whole corpora alive.
@derived_from_side_files(maxsize=1)
def _calls_in(sides: tuple[SideFile, ...]) -> dict[str, list[dict[str, Any]]]:
    calls: dict[str, list[dict[str, Any]]] = {}
    for side in sides:
        for data in side.records:
            if isinstance(data, dict):
                for name, params in _requests(data.get("conversation")):
                    calls.setdefault(name, []).append(params)
    return calls


def result_text(response: Any, exception: Any) -> str:
    if exception is not None:
        return json.dumps({"response": response, "exception": exception}, ensure_ascii=False)
    return response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)


def _assistant(turn: dict[str, Any], where: str, text: str) -> list[Message]:
    apis = turn.get("apis") or []
    if not isinstance(apis, list):
        raise RecordError("wrong_type", f"{where}.apis should be a list", f"{where}.apis")
    out: list[Message] = []
    for j, api in enumerate(apis):
        at = f"{where}.apis.{j}"
        request = require(api, "request", dict, at)
        name = require(request, "api_name", str, f"{at}.request")
        args = arguments(request.get("parameters"), f"{at}.request.parameters")
        out.append(Message(role="assistant", tool_calls=[validated(ToolCall, at, name=name, arguments=args)]))
        out.append(Message(role="tool", name=name, content=result_text(api.get("response"), api.get("exception"))))
    out.append(Message(role="assistant", content=text))
    return out


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    turns = require(value, "conversation", list)
    if not turns:
        raise RecordError("empty_conversation", "conversation is empty", "conversation")
    messages: list[Message] = []
    for i, turn in enumerate(turns):
        where = f"conversation.{i}"
        role = require(turn, "role", str, where)
        text = require(turn, "text", str, where)
        if role == "user":
            messages.append(Message(role="user", content=text))
        elif role == "assistant":
            messages.extend(_assistant(turn, where, text))
        else:
            raise RecordError("invalid_role", f"{where}.role is {role!r} (user or assistant)", f"{where}.role")
    apis_used = value.get("apis_used") or []
    if not isinstance(apis_used, list) or not all(isinstance(a, str) for a in apis_used):
        raise RecordError("wrong_type", "apis_used should be a list of API names", "apis_used")
    called = [c.name for m in messages for c in m.tool_calls]
    names = list(dict.fromkeys([*apis_used, *called]))
    corpus = _corpus_calls(ctx)
    own: dict[str, list[dict[str, Any]]] = {}
    for name, params in _requests(turns):
        own.setdefault(name, []).append(params)
    tools = [Tool(name=n, parameters=schema_from_examples(corpus.get(n) or own.get(n) or [])) for n in names]
    kept = {k: value[k] for k in _KEPT if k in value}
    metadata: dict[str, Any] = {"tooltalk": {**kept, "split": Path(ctx.path).parent.name}}
    if tools:
        metadata["tools_synthesized"] = names
    yield validated(Trajectory, "<record>", id=ctx.default_id(), tools=tools, messages=messages,
                    provenance=ctx.provenance(), metadata=metadata)


def detect(value: Any, path: str) -> bool:
    return isinstance(value, dict) and isinstance(value.get("conversation"), list) and (
        "apis_used" in value or "suites_used" in value)


READER = Reader("tooltalk", read, detect, "ToolTalk conversations (assistant turns with executed apis)", priority=30)
