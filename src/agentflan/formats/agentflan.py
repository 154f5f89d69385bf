"""``agentflan``: the released Agent-FLAN rows ``{id, conversation: [{role, content, loss}]}``, written for XTuner.

The release (``internlm/Agent-FLAN``) has only ``system``/``user``/``assistant`` turns; tool observations are
``user`` turns; ``loss`` is a per-turn boolean that some rows omit (then assistant turns are supervised, as in
XTuner's ``openai_map_fn``: ``msg.get('loss', True)``); some turns carry an extra ``type`` key (kept in the
message's metadata).

Read: such a row is built training data, read back into the shape `agentflan build` gives it, so that the audit
sees in an export (or in the release) what it sees in the build's ``canonical.jsonl``::

    row turns     system "...\\n- `weather`: Current weather. Arguments: `city` (string, required)."
                  assistant "I need the weather.\\n\\nThe right tool here is `weather`.\\n\\n```json\\n{\\"city\\": ...}\\n```"
                  user '{"temp": 21}'
    read          tools [weather(city: string, required)], metadata {kind: agent, rendering: chat}
                  assistant parts "I need the weather.\\n\\n" (reasoning) + "The right tool here is `weather`."
                            (retrieval) + tool_calls weather({"city": "Paris"})
                  tool '{"temp": 21}' (the result of that call)

- **Tools** come back from the system prompt where it lists them in a layout this package writes (the chat
  alignment's ``- `name`: description. Arguments: ...`` lines, the ReAct rendering's JSON lines) or ToolBench's
  API list.
- **Calls written as Agent-FLAN conversation** (a tool-naming sentence, then a JSON argument block, in one turn
  or in consecutive assistant turns) and JSON call blocks are read by `agentflan.calls` (the one reply parser)
  and become native calls; the naming sentence is the ``retrieval`` part, the text before it ``reasoning``, and
  consecutive assistant turns of one call are one message whose parts keep each turn's ``loss``. The user turn
  after a call is its ``tool`` result.
- **ReAct text** is labelled as `formats.react.render_react` labels the build's ReAct records (keywords and
  JSON punctuation ``instruction_following``, thought ``reasoning``, tool name ``retrieval``, arguments
  ``understanding``, final answer ``answer``), read with the ``react`` reader; like those records it keeps its
  calls in the text, and observation user turns are marked ``metadata.observation``.
- **The kind** of a row (``metadata.kind``: agent, react, instruct, negative, general) comes from its id where
  the build wrote it there (``negative/<type>/...``, ``instruct/...``), from the release's file names in the id
  or the file name (``toolbench_react_10p`` → react, ``toolbench_instruct_j1s1_3k`` → instruct,
  ``toolbench_negative`` → negative, ``*_tflan_*`` → agent), else from the content (ReAct text → react, calls or
  offered tools → agent, neither → general). A format-following sample's reply is ``instruction_following``,
  as the build labels it. A release negative is ``no_tools_needs_tool`` when its prompt offers no tools and
  ``irrelevant_tools_needs_tool`` when it does (the paper appended irrelevant tools to half of them).

What a row cannot say is not invented: a mask on one part of a turn (the per-turn ``loss`` holds one flag per
turn), the split of a final reply into thought and answer, the kind of a row with no hint (an agent sample
answered without tools reads as general chat), tool results of several calls joined in one turn (one ``tool``
message), and calls in a syntax other than the Agent-FLAN conversation and JSON blocks (they stay text).

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
prompt remains: the reader takes names, argument types and which are required back from it, not enum values),
call ids, masks and weights below the turn, capability labels the reader cannot tell from the text (the thought
before a final answer), message and trajectory metadata other than the kind, flags and provenance. Not lossless;
`tests/formats/test_agentflan_format.py` checks with hypothesis that a built conversation comes back with the same
tools, calls and labels otherwise.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentflan.calls import ParsedCall, parse_reply
from agentflan.calls.conversation import announcement
from agentflan.callsyntax import json_call, json_values, parse_arguments
from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, Writer, require
from agentflan.formats.canonical import validated
from agentflan.formats.exports import merge_turns
from agentflan.schema import NEGATIVE_KINDS, Capability, Message, Part, Tool, ToolCall, Trajectory

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


def _raw_turns(value: Any) -> tuple[str, list[Message]]:
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
    return key, messages


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    _, turns = _raw_turns(value)
    raw_id = value.get("id")
    record_id = str(raw_id) if raw_id not in (None, "") else ctx.default_id()
    tools = tools_in_prompt("\n".join(m.content for m in turns if m.role == "system"))
    kind, negative = kind_hint(record_id, ctx.path)
    metadata: dict[str, Any] = {}
    react = None if kind in ("instruct", "agent", "negative") else _react_messages(turns)
    if react is not None and (kind == "react" or any(_looks_react(m) for m in turns if m.role == "assistant")):
        messages, found = react
        if tools and "domain" not in found:
            found.pop("environment_actions", None)  # its actions are the tools the prompt lists, not synthesised
        metadata.update(found)
        kind = "react"
    elif kind == "instruct":
        messages = _instruct_messages(turns)
    else:
        messages = _chat_messages(turns, {t.name: t.parameters for t in tools}, kind == "negative")
        messages = _environment(messages, metadata)
        kind = kind or ("agent" if tools or any(m.tool_calls for m in messages) else "general")
    if kind in ("agent", "react"):
        metadata["rendering"] = "chat" if kind == "agent" else "react"
    metadata["kind"] = kind
    if kind == "negative":
        metadata["negative"] = negative or ("irrelevant_tools_needs_tool" if tools else "no_tools_needs_tool")
    yield validated(Trajectory, "<record>", id=record_id, tools=tools, messages=messages,
                    provenance=ctx.provenance(), metadata=metadata)


# --- what kind of sample a row is -------------------------------------------------------------------------------

# The release's files (internlm/Agent-FLAN, data/*.jsonl), whose rows are numbered ``<file>_<n>``.
RELEASE_FILES = {
    "agent_instruct_react": "react",
    "agent_instruct_tflan": "agent",
    "toolbench_instruct_j1s1_3k": "instruct",
    "toolbench_negative": "negative",
    "toolbench_react_10p": "react",
    "toolbench_tflan_60p_r10r5u7": "agent",
    "toolbench_tflan_cot_30p": "agent",
}


def _name_kind(name: str) -> str | None:
    """The kind a release-like file name says: its words ``negative``, ``react``, ``tflan``, or ``instruct``
    (AgentInstruct's ``agent_instruct`` is the corpus, not the format-following samples)."""
    words = re.split(r"[^a-z0-9]+", name.lower())
    if "negative" in words:
        return "negative"
    if "react" in words:
        return "react"
    if "tflan" in words:
        return "agent"
    rest = words[2:] if words[:2] == ["agent", "instruct"] else words
    return "instruct" if "instruct" in rest else None


def kind_hint(record_id: str, path: str) -> tuple[str | None, str | None]:
    """(kind, negative type) as far as the row's id or file name tell them, else (None, None)."""
    head, _, rest = record_id.partition("/")
    if head == "negative" and rest.partition("/")[0] in NEGATIVE_KINDS:
        return "negative", rest.partition("/")[0]
    if head == "instruct" and rest:
        return "instruct", None
    for stem, kind in RELEASE_FILES.items():
        if re.fullmatch(re.escape(stem) + r"_\d+", record_id):
            return kind, None
    return _name_kind(Path(path).stem), None


# --- tools described in the system prompt ------------------------------------------------------------------------

# `phrasing.describe_tool`: "- `name`: description. Arguments: `a` (string, required): text; `b` (...)."
_TOOL_LINE = re.compile(r"^- `(?P<name>[^`\n]+)`(?:: (?P<desc>[^\n]*?))?\. "
                        r"(?:Arguments: (?P<args>[^\n]*)\.|It takes no arguments\.)$", re.MULTILINE)
_ARGUMENT = re.compile(r"`(?P<name>[^`]+)` \((?P<type>[^`]*?), (?P<req>required|optional)\)(?:: (?P<desc>.*?))?"
                       r"(?=; `[^`]+` \(|$)")
_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object", "null"})


def _described(m: re.Match[str]) -> Tool:
    props: dict[str, Any] = {}
    required = []
    for a in _ARGUMENT.finditer(m.group("args") or ""):
        kinds = a.group("type").split("/")
        schema: dict[str, Any] = {}
        if all(k in _JSON_TYPES for k in kinds):
            schema["type"] = kinds[0] if len(kinds) == 1 else kinds
        elif a.group("type") != "any":  # a source's own type name ("NUMBER", "list(str)"), as the readers keep it
            schema["x-original-type"] = a.group("type")
        if a.group("desc"):
            schema["description"] = a.group("desc")
        props[a.group("name")] = schema
        if a.group("req") == "required":
            required.append(a.group("name"))
    parameters: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        parameters["required"] = required
    return Tool(name=m.group("name"), description=m.group("desc") or "", parameters=parameters)


def tools_in_prompt(text: str) -> list[Tool]:
    """The tools a system prompt lists in a layout we know: the chat alignment's plain-language lines
    (`phrasing.describe_tool`), the ReAct rendering's JSON lines, ToolBench's API list, and the release's
    ``name: description`` + ``Input parameters are as follows: {...}`` blocks and ``You have access to the
    following API: {...}``. The first description of a name wins."""
    from agentflan.formats.react import tools_from_system
    from agentflan.formats.toolbench import tools_from_system_prompt

    found = [_described(m) for m in _TOOL_LINE.finditer(text)] + tools_from_system(text) + _release_tools(text)
    with contextlib.suppress(RecordError):  # a list that is not one: no tools from it, the text stays as it is
        found += tools_from_system_prompt(text)
    tools: dict[str, Tool] = {}
    for tool in found:
        tools.setdefault(tool.name, tool)
    return list(tools.values())


_INPUT_PARAMETERS = re.compile(r"^(?P<name>[A-Za-z_][\w.\-]*):[ \t]*(?P<desc>[^\n]*)\n"
                               r"Input parameters are as follows:[ \t]*(?=\{)", re.MULTILINE)
_ONE_API = re.compile(r"You have access to the following API:\s*(?=\{)")


def _literal_at(text: str, start: int) -> Any:
    """The JSON object (or Python dict literal, as ToolBench prints them) that opens at ``start``, or None."""
    from agentflan import strictjson
    from agentflan.callsyntax import closing_bracket

    try:
        literal = text[start:closing_bracket(text, start)]
    except ValueError:
        return None
    try:
        return strictjson.loads(literal)
    except ValueError:
        pass
    try:
        return ast.literal_eval(literal)  # a literal, never code: ToolBench writes its specs as Python dicts
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _release_tools(text: str) -> list[Tool]:
    from agentflan.formats.toolbench import tool_from_function

    specs = [{"name": m.group("name"), "description": m.group("desc").strip(), "parameters": _literal_at(text, m.end())}
             for m in _INPUT_PARAMETERS.finditer(text)]
    specs += [_literal_at(text, m.end()) for m in _ONE_API.finditer(text)]
    tools = []
    for spec in specs:
        with contextlib.suppress(RecordError, ValueError):
            if isinstance(spec, dict) and isinstance(spec.get("parameters"), dict | None):
                tools.append(tool_from_function(spec, "system prompt"))
    return tools


# --- ReAct rows ---------------------------------------------------------------------------------------------------

_REACT_LINE = re.compile(r"^[ \t]*(?:Thought|Action|Action Input|Final Answer|Act|Think)[ \t]*:", re.MULTILINE | re.I)


def _looks_react(message: Message) -> bool:
    return _REACT_LINE.search(message.content) is not None


def _react_messages(turns: list[Message]) -> tuple[list[Message], dict[str, Any]] | None:
    """The row with its assistant turns labelled as the build labels ReAct records, and what the ``react``
    reader learns of the trajectory (an AgentInstruct domain, environment actions, the bracket style); None when
    that reader does not read the row or its rendering does not give back the row's text turn for turn."""
    from agentflan.formats import react

    dialogue = [m for m in turns if m.role != "system"]
    if not any(m.role == "assistant" for m in dialogue):
        return None
    ctx = RecordContext(path="<row>", index=0, format="react")
    # With its system prompt (the tools it lists), else without: an AgentInstruct task opens with its
    # instruction as the first user turn, which is how the react reader knows its domain.
    for given in (turns, dialogue):
        try:
            (traj,) = list(react.read({"messages": [{"role": m.role, "content": m.content} for m in given]}, ctx))
            rendered = [m for m in react.render_react(traj).messages if m.role != "system"]
        except (RecordError, ValueError):
            continue
        if [(m.role, m.content) for m in rendered] == [(m.role, m.content) for m in dialogue]:
            break
    else:
        return None
    it = iter(rendered)
    out = []
    for m in turns:
        if m.role == "system":
            out.append(m)
            continue
        r = next(it)
        if m.role == "assistant":
            out.append(m.model_copy(update={"parts": r.parts}))
        elif r.metadata.get("observation"):
            out.append(m.model_copy(update={"metadata": {**m.metadata, "observation": True}}))
        else:
            out.append(m)
    return out, {k: traj.metadata[k] for k in _REACT_METADATA if k in traj.metadata}


# What the react reader says of a trajectory: an AgentInstruct domain, or actions that no prompt declared (the
# environment's, synthesised as tools), and FireAct's bracket style.
_REACT_METADATA = ("domain", "environment_actions", "react_style")


def _environment(messages: list[Message], metadata: dict[str, Any]) -> list[Message]:
    """An AgentInstruct task (its first user turn is a domain's instruction prompt) is an environment episode,
    which ends on an action by nature; the reply that only acknowledges the instructions ("Ok.") is format, as
    the ``agentinstruct`` reader labels it."""
    from agentflan.formats import agentinstruct

    first = next((i for i, m in enumerate(messages) if m.role != "system"), None)
    if first is None or messages[first].role != "user":
        return messages
    domain = agentinstruct.prompted_domain(messages[first].content)
    if domain is None:
        return messages
    metadata.update(domain=domain.name, environment_actions=True)
    ack = first + 1
    if (domain.acknowledges and ack < len(messages) and messages[ack].role == "assistant"
            and not messages[ack].tool_calls and messages[ack].parts is None):
        messages = [*messages[:ack], messages[ack].model_copy(update={"capability": "instruction_following"}),
                    *messages[ack + 1:]]
    return messages


# --- format-following samples -------------------------------------------------------------------------------------


def _instruct_messages(turns: list[Message]) -> list[Message]:
    """The last reply is the call in the asked format: all of it format, as the build labels it."""
    last = max((i for i, m in enumerate(turns) if m.role == "assistant"), default=-1)
    return [m.model_copy(update={"parts": [Part(text=m.content, capability="instruction_following")]})
            if i == last and m.content else m for i, m in enumerate(turns)]


# --- Agent-FLAN conversation rows ---------------------------------------------------------------------------------

_FENCE_BEFORE = re.compile(r"```[\w+-]*[ \t]*\n?[ \t]*\Z")
_FENCE_AFTER = re.compile(r"[ \t]*\n?[ \t]*```")
_TICKED = re.compile(r"`([^`\n]{1,128})`")
_SENTENCE_END = re.compile(r"[.!?](?=\s|\Z)|\n")


def _chat_messages(turns: list[Message], tools: dict[str, dict[str, Any]], negative: bool) -> list[Message]:
    out: list[Message] = []
    i = 0
    pending: list[ToolCall] = []
    calls = 0
    while i < len(turns):
        if turns[i].role != "assistant":
            m = turns[i]
            if pending and m.role == "user":
                # The tool result of the calls just made (the writer joins several results into one turn).
                m = Message(role="tool", content=m.content, tool_call_id=pending[0].id, name=pending[0].name,
                            metadata=m.metadata)
            out.append(m)
            pending = []
            i += 1
            continue
        j = i
        while j < len(turns) and turns[j].role == "assistant":
            j += 1
        read = _conversation_call(turns[i:j], tools, calls)
        if read is None:
            out.extend(turns[i:j])
            pending = []
        else:
            out.append(read)
            pending = read.tool_calls
            calls += len(pending)
        i = j
    if negative and any(m.tool_calls for m in out):
        # A negative that calls (distractor tools): its plain replies are answers, not abstentions.
        out = [m.model_copy(update={"capability": "answer"}) if m.role == "assistant" and not m.tool_calls
               and m.parts is None else m for m in out]
    return out


def _conversation_call(run: list[Message], tools: dict[str, dict[str, Any]], numbered: int) -> Message | None:
    """Consecutive assistant turns read as one reply: its calls as native calls and its text as labelled parts,
    when `agentflan.calls` reads it as the Agent-FLAN conversation (or JSON call blocks) and every call's
    argument block is found in the text; None otherwise (the turns stay as they are)."""
    parsed = parse_reply([m.content for m in run], tools)
    if parsed.syntax not in ("agentflan", "json") or (parsed.syntax == "json" and not parsed.calls):
        return None
    if parsed.malformed and (parsed.calls or not parsed.safety_rule):
        return None
    text, bounds = _joined(run)
    blocks = _blocks(text, parsed.calls)
    if blocks is None:
        return None
    names = {c.name for c in parsed.calls} | set(tools)
    labels = _labels(text, blocks, names)
    if labels is None:
        return None
    losses = [m.loss for m in run]
    uniform = len(set(losses)) == 1
    parts = _parts(text, blocks, labels, bounds, None if uniform else losses)
    turn_of = _turn_at(bounds)
    tool_calls = []
    for k, (call, (start, end, naming)) in enumerate(zip(parsed.calls, blocks, strict=True)):
        name_loss = None if uniform else losses[turn_of(naming if naming is not None else start)]
        arguments_loss = None if uniform else losses[turn_of(end - 1)]
        tool_calls.append(ToolCall(id=f"call_{numbered + k}", name=call.name, arguments=call.arguments,
                                   name_loss=name_loss, arguments_loss=arguments_loss))
    metadata: dict[str, Any] = {}
    for m in run:
        metadata.update(m.metadata)
    labelled = any(p.capability for p in parts)
    content = "".join(p.text for p in parts)
    if not labelled and uniform:
        return Message(role="assistant", content=content, tool_calls=tool_calls, loss=losses[0], metadata=metadata)
    return Message(role="assistant", parts=parts or None, content=content, tool_calls=tool_calls,
                   loss=losses[0] if uniform else None, metadata=metadata)


def _joined(run: list[Message]) -> tuple[str, list[int]]:
    """The turns' text as `agentflan.calls.reply_text` joins it, and where each turn starts."""
    text, bounds = "", []
    for m in run:
        if not m.content:
            bounds.append(len(text))
            continue
        if text:
            text += "\n\n"
        bounds.append(len(text))
        text += m.content
    return text, bounds


def _turn_at(bounds: list[int]) -> Callable[[int], int]:
    """Which turn of a run holds an offset of the joined text (a separator belongs to the turn before it)."""

    def turn(pos: int) -> int:
        return max(k for k, b in enumerate(bounds) if b <= pos or k == 0)
    return turn


def _blocks(text: str, calls: list[ParsedCall]) -> list[tuple[int, int, int | None]] | None:
    """Per call, in order: (start, end) of its argument block (with its fence and the blank space before it),
    or None when a block is not found. The third item is filled in by `_labels` (the naming sentence)."""
    values = json_values(text)
    found: list[tuple[int, int, int | None]] = []
    pos = 0
    for call in calls:
        at = next(((s, e) for v, s, e in values if s >= pos and _holds(v, call)), None)
        if at is None:
            return None
        start, end = at
        fence = _FENCE_BEFORE.search(text, 0, start)
        after = _FENCE_AFTER.match(text, end)
        if fence is not None and after is not None:
            start, end = fence.start(), after.end()
        cut = len(text[:start].rstrip())
        found.append((max(cut, pos), end, None))
        pos = end
    return found


def _holds(value: Any, call: ParsedCall) -> bool:
    """Whether a JSON value is the call's argument block: its arguments, or ``{"name", "arguments"}``."""
    named = json_call(value)
    args = named[1] if named is not None and named[0] == call.name else value
    if not isinstance(args, dict | str):
        return False
    try:
        return bool(parse_arguments(args) == call.arguments)
    except RecordError:
        return False


def _labels(text: str, blocks: list[tuple[int, int, int | None]],
            names: set[str]) -> list[tuple[int, Capability | None]] | None:
    """Where each label starts: reasoning before the tool-naming sentence, retrieval from it to the argument
    block (the sentence alone when no block follows, and what follows it is the arguments written as text).
    The blocks' third items are set to where their naming sentence starts."""
    strong = [(m.start(), m.end()) for m in announcement().finditer(text)]
    weak = [(_sentence_start(text, m.start()), _sentence_end(text, m.end())) for m in _TICKED.finditer(text)
            if m.group(1) in names]
    if not blocks:  # a tool named, its arguments written as text (an action the source kept as text)
        if not strong:
            return None
        start, end = strong[0]
        return [(0, "reasoning"), (start, "retrieval"), (end, "understanding")]
    labels: list[tuple[int, Capability | None]] = []
    prev = 0
    for k, (start, end, _) in enumerate(blocks):
        labels.append((prev, "reasoning"))
        window = [s for s in strong if prev <= s[0] < start] or [w for w in weak if prev <= w[0] < start][-1:]
        if window:
            blocks[k] = (start, end, window[0][0])
            labels.append((window[0][0], "retrieval"))
        prev = end
    if all(naming is None for _, _, naming in blocks):
        return [(0, None)]  # JSON call blocks no sentence names: the text keeps its default labels
    return [*labels, (prev, "reasoning")]


def _sentence_start(text: str, pos: int) -> int:
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, pos)]
    start = ends[-1] if ends else 0
    return start + len(text[start:pos]) - len(text[start:pos].lstrip())


def _sentence_end(text: str, pos: int) -> int:
    m = _SENTENCE_END.search(text, pos)
    return m.end() if m is not None and m.group() != "\n" else (m.start() if m is not None else len(text))


def _parts(text: str, blocks: list[tuple[int, int, int | None]], labels: list[tuple[int, Capability | None]],
           bounds: list[int], losses: list[bool | None] | None) -> list[Part]:
    """The text outside the blocks as parts: split where a label or (when turns differ in loss) a turn
    starts."""
    cuts = sorted({0, len(text), *(p for p, _ in labels), *(s for s, _, _ in blocks), *(e for _, e, _ in blocks),
                   *(bounds if losses is not None else [])})
    turn_of = _turn_at(bounds)
    parts: list[Part] = []
    for a, b in itertools.pairwise(cuts):
        if any(s <= a and b <= e for s, e, _ in blocks) or a >= b:
            continue
        label = next((cap for p, cap in reversed(labels) if p <= a), None)
        loss = losses[turn_of(a)] if losses is not None else None
        piece = text[a:b]
        if parts and parts[-1].capability == label and parts[-1].loss == loss:
            parts[-1] = Part(text=parts[-1].text + piece, capability=label, loss=loss)
        else:
            parts.append(Part(text=piece, capability=label, loss=loss))
    return parts


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
    # Imported here: phrasing brings jinja2 (16 ms), which no other format needs to read or write.
    from agentflan.phrasing import tools_prompt

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
