"""``agentflan``: the released Agent-FLAN rows ``{id, conversation: [{role, content, loss}]}``.

The release (``internlm/Agent-FLAN``) has only ``system``/``user``/``assistant`` turns; tool observations are
``user`` turns; ``loss`` is a per-turn boolean that some rows omit (then assistant turns are supervised, as in
XTuner's ``openai_map_fn``: ``msg.get('loss', True)``); some turns carry an extra ``type`` key (kept in the
message's metadata).

Read: one canonical message per turn, the ``loss`` flag kept as given. Calls written as text in the release (in
several fence styles) stay text: the reader does not guess calls out of prose.

Write: release-compatible rows, loadable by XTuner after renaming ``conversation`` to ``messages``::

    canonical assistant parts  "I need the weather.\\n\\n" (reasoning) + "I will use `weather`." (retrieval)
                               + tool_calls weather({"city": "Paris"})
    written                    {"role": "assistant", "content": "I need the weather.", "loss": true}
                               {"role": "assistant", "content": "I will use `weather`.", "loss": true}
                               {"role": "assistant", "content": "```json\\n{\\"city\\": \\"Paris\\"}\\n```", "loss": true}
                               {"role": "user", "content": "{\\"temp\\": 21}", "loss": false}

Each labelled part becomes its own assistant turn with its own ``loss`` (so each capability is a separate
message, as the paper's decomposition requires). A call whose elicit statement (a ``retrieval`` part) is already
in the text is followed by its arguments as a JSON code block; a call the text does not mention is written as a
``{"name": ..., "arguments": ...}`` JSON code block. Tool results become ``user`` turns. Tools are described in
plain language in the system prompt (added to the first system turn unless it already names every tool).

What the release format cannot hold, and is therefore lost: the structured tools list (only its description in the
prompt remains), structured calls and their ids, the tool role and tool names of results, capability labels and
weights, message and trajectory metadata, flags and provenance. Not lossless.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.formats.canonical import validated
from agentflan.schema import Message, ToolCall, Trajectory

_ROLES = ("system", "user", "assistant")
_TURN_KEYS = {"role", "content", "loss"}


def _loss(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    # XTuner compares str(loss).lower() == "true"; accept the same spellings, nothing looser.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RecordError("wrong_type", f"{field} should be a boolean, got {value!r}", field)


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    turns = require(value, "conversation", list)
    if not turns:
        raise RecordError("empty_conversation", "conversation is empty", "conversation")
    messages = []
    for i, turn in enumerate(turns):
        where = f"conversation.{i}"
        role = require(turn, "role", str, where)
        if role not in _ROLES:
            raise RecordError("invalid_role", f"{where}.role is {role!r} (the release has system/user/assistant)",
                              f"{where}.role")
        content = require(turn, "content", str, where)
        extra = {k: v for k, v in turn.items() if k not in _TURN_KEYS}
        messages.append(validated(Message, where, role=role, content=content,
                                   loss=_loss(turn.get("loss"), f"{where}.loss"), metadata=extra))
    record_id = value.get("id")
    yield validated(Trajectory, "<record>", id=str(record_id) if record_id not in (None, "") else ctx.default_id(),
                    messages=messages, provenance=ctx.provenance())


def detect(value: Any, path: str) -> bool:
    turns = value.get("conversation") if isinstance(value, dict) else None
    return isinstance(turns, list) and bool(turns) and all(
        isinstance(t, dict) and "role" in t and "content" in t for t in turns
    )


def _fenced_json(data: Any) -> str:
    return "```json\n" + json.dumps(data, ensure_ascii=False) + "\n```"


def _call_turns(message: Message, call: ToolCall, elicited: bool) -> dict[str, Any]:
    name_loss = call.name_loss if call.name_loss is not None else message.supervised
    args_loss = call.arguments_loss if call.arguments_loss is not None else message.supervised
    if elicited:
        return {"role": "assistant", "content": _fenced_json(call.arguments), "loss": args_loss}
    # Name and arguments in one turn: supervised when either is (masking both would hide a capability the
    # recipe asked to train).
    return {"role": "assistant", "content": _fenced_json({"name": call.name, "arguments": call.arguments}),
            "loss": name_loss or args_loss}


def _assistant_turns(message: Message) -> list[dict[str, Any]]:
    if message.parts is None:
        turns = [{"role": "assistant", "content": message.content, "loss": message.supervised}]
        if message.tool_calls and not message.content.strip():
            turns = []
    else:
        # The separators between parts ("thought\n\n") become turn boundaries.
        turns = [{"role": "assistant", "content": p.text.strip(), "loss": bool(p.loss)}
                 for p in message.segments() if p.text.strip()]
    if not message.tool_calls:
        return turns or [{"role": "assistant", "content": message.content, "loss": message.supervised}]
    labelled = {p.capability for p in message.parts or []}
    if "understanding" in labelled:
        return turns  # the text already carries the arguments
    # The elicit statement names the tool; it only stands for the call when there is one call to name.
    elicited = "retrieval" in labelled and len(message.tool_calls) == 1
    return turns + [_call_turns(message, c, elicited) for c in message.tool_calls]


def _tools_system(traj: Trajectory) -> str | None:
    """The plain-language tool description to add to the system prompt, or None when nothing is missing."""
    if not traj.tools:
        return None
    system = next((m.content for m in traj.messages if m.role == "system"), "")
    if all(f"`{t.name}`" in system for t in traj.tools):
        return None  # already introduced (e.g. by the chat alignment)
    from agentflan.construct.align import tools_prompt  # the same wording the construction uses

    return tools_prompt(traj.tools, 0, traj.id)


def write(traj: Trajectory) -> dict[str, Any]:
    conversation: list[dict[str, Any]] = []
    intro = _tools_system(traj)
    if intro and traj.messages[0].role != "system":
        conversation.append({"role": "system", "content": intro, "loss": False})
    for i, m in enumerate(traj.messages):
        if m.role == "assistant":
            conversation.extend(_assistant_turns(m))
            continue
        content = m.content
        if i == 0 and intro and m.role == "system":
            content = f"{intro}\n\n{content}" if content.strip() else intro
        role = "user" if m.role == "tool" else m.role
        conversation.append({"role": role, "content": content, "loss": m.supervised})
    return {"id": traj.id, "conversation": conversation}


READER = Reader("agentflan", read, detect, "released Agent-FLAN rows {id, conversation:[{role, content, loss}]}",
                priority=45)
WRITER = Writer("agentflan", write, "Agent-FLAN release rows: one assistant turn per capability part, per-turn "
                "loss (XTuner openai_map_fn)", call_syntax="agentflan")
