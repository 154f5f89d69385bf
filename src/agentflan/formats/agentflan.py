"""``agentflan``: the released Agent-FLAN rows ``{id, conversation: [{role, content, loss}]}``, written for XTuner.

The release (``internlm/Agent-FLAN``) has only ``system``/``user``/``assistant`` turns; tool observations are
``user`` turns; ``loss`` is a per-turn boolean that some rows omit (then assistant turns are supervised, as in
XTuner's ``openai_map_fn``: ``msg.get('loss', True)``); some turns carry an extra ``type`` key (kept in the
message's metadata).

Read: one canonical message per turn, the ``loss`` flag kept as given. Calls written as text in the release (in
several fence styles) stay text: the reader does not guess calls out of prose.

Write: ``{id, messages}`` rows, the release's turns under the key XTuner's ``openai_map_fn`` reads, so that
XTuner loads the file as written (the reader takes both keys)::

    canonical assistant parts  "I need the weather.\\n\\n" (reasoning) + "I will use `weather`." (retrieval)
                               + tool_calls weather({"city": "Paris"})
    written                    {"role": "assistant", "content": "I need the weather.\\n\\nI will use `weather`.\\n\\n
                                 ```json\\n{\\"city\\": \\"Paris\\"}\\n```", "loss": true}
                               {"role": "user", "content": "{\\"temp\\": 21}", "loss": false}

One assistant message is one turn, as the release writes ReAct data: ``openai_map_fn`` makes every assistant
turn a round of its own, so two in a row would put an empty user turn between them and teach the model to stop
after its thought. A call whose elicit statement (a ``retrieval`` part) is already in the text is followed by
its arguments as a JSON code block; a call the text does not mention is written as a ``{"name": ...,
"arguments": ...}`` JSON code block; ReAct text already holds its calls. Tool results become ``user`` turns, and
two user turns in a row (a ToolBench restart prompt after a result) are joined with a blank line (XTuner would
glue them). A turn is supervised when any of its parts is: a mask on one part of a reply (balancing masks the
tool choice, say) cannot be held by a per-turn flag, and the build's manifest counts those
(`exports.masks_not_held`). Tools are described in plain language in the system prompt (added to the first
system turn unless it already names every tool).

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
from agentflan.formats.exports import merge_turns
from agentflan.phrasing import tools_prompt
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


def _turns_key(value: Any) -> str:
    return "conversation" if isinstance(value, dict) and "conversation" in value else "messages"


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    key = _turns_key(value)
    turns = require(value, key, list)
    if not turns:
        raise RecordError("empty_conversation", f"{key} is empty", key)
    messages = []
    for i, turn in enumerate(turns):
        where = f"{key}.{i}"
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
    """The release's ``conversation`` rows, or this writer's ``messages`` rows: only system/user/assistant
    turns of ``{role, content, loss}`` (an openai row has tool roles, calls or other keys, or no ``loss``)."""
    if not isinstance(value, dict):
        return False
    turns = value.get("conversation")
    if isinstance(turns, list):
        return bool(turns) and all(isinstance(t, dict) and "role" in t and "content" in t for t in turns)
    turns = value.get("messages")
    return (isinstance(turns, list) and bool(turns) and set(value) <= {"id", "messages"}
            and all(isinstance(t, dict) and set(t) <= _TURN_KEYS and t.get("role") in _ROLES for t in turns)
            and all("loss" in t for t in turns))


def _fenced_json(data: Any) -> str:
    return "```json\n" + json.dumps(data, ensure_ascii=False) + "\n```"


def call_text(name: str, arguments: dict[str, Any]) -> str:
    """A call written as text, for a reply whose text does not mention it::

        ```json
        {"name": "weather", "arguments": {"city": "Paris"}}
        ```
    """
    return _fenced_json({"name": name, "arguments": arguments})


def _call_text(call: ToolCall, elicited: bool) -> str:
    return _fenced_json(call.arguments) if elicited else call_text(call.name, call.arguments)


def _reply(message: Message) -> dict[str, Any]:
    """One assistant message as one turn: its parts as written, then the calls its text does not already hold;
    supervised when any of its parts or calls is (`exports.masks_not_held` counts what that trains anyway)."""
    segments = [p for p in message.segments() if p.text]
    text = "".join(p.text for p in segments)
    losses = [bool(p.loss) for p in segments if p.text.strip()]
    labelled = {p.capability for p in message.parts or []}
    if message.tool_calls and "understanding" not in labelled:  # else the text already carries the arguments
        # The elicit statement names the tool; it only stands for the call when there is one call to name.
        elicited = "retrieval" in labelled and len(message.tool_calls) == 1
        text = "\n\n".join(t for t in [text.rstrip(), *(_call_text(c, elicited) for c in message.tool_calls)] if t)
    for c in message.tool_calls:
        losses += [c.name_loss if c.name_loss is not None else message.supervised,
                   c.arguments_loss if c.arguments_loss is not None else message.supervised]
    return {"role": "assistant", "content": text, "loss": any(losses) if losses else message.supervised}


def _tools_system(traj: Trajectory) -> str | None:
    """The plain-language tool description to add to the system prompt, or None when nothing is missing."""
    if not traj.tools:
        return None
    system = next((m.content for m in traj.messages if m.role == "system"), "")
    if all(f"`{t.name}`" in system for t in traj.tools):
        return None  # already introduced (e.g. by the chat alignment)
    return tools_prompt(traj.tools, 0, traj.id)


def write(traj: Trajectory) -> dict[str, Any]:
    turns: list[dict[str, Any]] = []
    intro = _tools_system(traj)
    if intro and traj.messages[0].role != "system":
        turns.append({"role": "system", "content": intro, "loss": False})
    for i, m in enumerate(traj.messages):
        if m.role == "assistant":
            turns.append(_reply(m))
            continue
        content = m.content
        if i == 0 and intro and m.role == "system":
            content = f"{intro}\n\n{content}" if content.strip() else intro
        role = "user" if m.role == "tool" else m.role
        turns.append({"role": role, "content": content, "loss": m.supervised})
    # openai_map_fn glues two user turns without a separator and makes two assistant turns two rounds with an
    # empty user turn between them: joined here with a blank line instead.
    turns = merge_turns(turns, lambda a, b: a["role"] == b["role"] and a["role"] in ("user", "assistant"))
    return {"id": traj.id, "messages": turns}


# Before react (30): a row of this writer's ReAct record is `messages` of ReAct text, which react also claims.
READER = Reader("agentflan", read, detect, "released Agent-FLAN rows {id, conversation:[{role, content, loss}]}",
                priority=28)
WRITER = Writer("agentflan", write, "Agent-FLAN rows {id, messages:[{role, content, loss}]}: whole turns, per-turn "
                "loss; loads in XTuner with openai_map_fn as written", call_syntax="agentflan")
