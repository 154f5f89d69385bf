"""Alignment (paper §4.1): render a trajectory as a natural conversation (``chat``) or keep it in the
source-faithful ReAct text (``react``), and choose which records get which rendering.

``chat`` turns every assistant step into labelled parts with no format keywords::

    before  assistant: "Thought: I need the weather.\\nAction: weather\\nAction Input: {\\"city\\": \\"Paris\\"}"
    after   assistant parts: "I need the weather.\\n\\n" (reasoning) + "I'll call `weather` for this." (retrieval)
            tool_calls: weather({"city": "Paris"}) (name: retrieval, arguments: understanding)

The tools are introduced in plain language in the system prompt; observations stay tool (or user) turns; the
sentences the rendering adds come from seeded pools (`phrasing`).
"""

from __future__ import annotations

import heapq
from collections import Counter

from agentflan.callsyntax import REACT_KEYWORDS, parse_bracket_call, react_sections
from agentflan.errors import RecordError
from agentflan.formats.exports import TOOLS_DESCRIPTION
from agentflan.formats.react import render_react
from agentflan.phrasing import say, tools_prompt
from agentflan.schema import Message, Part, Trajectory
from agentflan.seeding import stable_hash

from . import prompts


def tools_system(intro: str, rest: str = "") -> Message:
    """The system message introducing the tools (``intro``) followed by other system text. Its metadata
    ``tools_description`` is the description's length in characters: exports for templates that render
    ``tools`` themselves cut it out (`formats.exports.tools_described_once`), so that no prompt describes the
    tools twice."""
    text = "\n\n".join(t for t in (intro, rest) if t.strip())
    return Message(role="system", content=text, metadata={TOOLS_DESCRIPTION: len(intro)} if intro.strip() else {})


def strip_format(text: str) -> tuple[str, str | None, str | None, str | None]:
    """Split assistant text into (first-person thought, action, action input, final answer), dropping the
    ReAct keywords; text with no keywords is all thought."""
    thought: list[str] = []
    action = action_input = final = None
    for name, body, _, _ in react_sections(text):
        if name in ("preamble", "thought"):
            thought.append(body.strip())
        elif name == "action":
            action = body.strip()
        elif name == "action_input":
            action_input = body.strip()
        elif name == "final_answer":
            final = body.strip()
    return "\n".join(t for t in thought if t), action, action_input, final


def with_parts(msg: Message, parts: list[Part]) -> Message:
    """``msg`` with new parts, validated so that ``content`` is their concatenation (model_copy would not)."""
    return Message.model_validate({**msg.model_dump(exclude={"content", "parts", "capability"}),
                                   "parts": [p.model_dump() for p in parts]})


def _chat_assistant(msg: Message, index: int, seed: int, key: str) -> Message:
    # Parts the source labelled as format scaffolding or as a textual copy of the call are re-created below.
    source_text = "".join(p.text for p in (msg.parts or [Part(text=msg.content)])
                          if p.capability not in ("instruction_following", "retrieval", "understanding"))
    thought, action, action_input, final = strip_format(source_text)
    parts: list[Part] = []
    if msg.tool_calls:
        if thought:
            parts.append(Part(text=thought + "\n\n", capability="reasoning"))
        elicits = [say("elicit", seed, key, index, i, name=c.name) for i, c in enumerate(msg.tool_calls)]
        parts.append(Part(text=" ".join(elicits), capability="retrieval"))
        return with_parts(msg, parts)
    if action and action.lower() not in ("finish", "answer", "final answer"):
        # An action the reader kept as text (an environment command it did not turn into a call): it is still
        # a tool choice and its input, so it gets the same three-part shape.
        bracket = parse_bracket_call(action)
        name, arg_text = (bracket if bracket else (action.split()[0] if action.split() else action, action_input))
        if bracket is None and action_input is None and len(action.split()) > 1:
            arg_text = action[len(name):].strip()
        if thought:
            parts.append(Part(text=thought + "\n\n", capability="reasoning"))
        parts.append(Part(text=say("elicit", seed, key, index, 0, name=name), capability="retrieval"))
        if arg_text:
            parts.append(Part(text="\n" + arg_text, capability="understanding"))
        return with_parts(msg, parts)
    if final is not None:
        if thought:
            parts.append(Part(text=thought + "\n\n", capability="reasoning"))
        parts.append(Part(text=final, capability="answer"))
        return with_parts(msg, parts)
    labelled = [p for p in (msg.parts or []) if p.capability not in (None, "instruction_following") and p.text.strip()]
    if labelled and not any(k in p.text for p in labelled for k in REACT_KEYWORDS):
        # Parts a reader already labelled (thought, answer): keep them, drop the format glue between them.
        texts = [p.text.strip() + ("\n\n" if i < len(labelled) - 1 else "") for i, p in enumerate(labelled)]
        parts = [p.model_copy(update={"text": t}) for p, t in zip(labelled, texts, strict=True)]
        return with_parts(msg, parts)
    had_keywords = any(k in msg.content for k in REACT_KEYWORDS)
    text = thought or msg.content.strip()
    capability = msg.capability or ("reasoning" if had_keywords and thought else "answer")
    return with_parts(msg, [Part(text=text, capability=capability)])


def merge_adjacent(messages: list[Message]) -> list[Message]:
    """Join two user turns in a row, and an assistant text turn with the assistant turn after it: a natural
    conversation alternates, and chat templates and ShareGPT expect it. Turns whose loss settings differ at
    the message level are left apart (joining them would change what is supervised)."""
    out: list[Message] = []
    for msg in messages:
        prev = out[-1] if out else None
        if prev is None or prev.role != msg.role or (prev.loss, prev.weight) != (msg.loss, msg.weight):
            out.append(msg)
        elif msg.role == "user" and prev.parts is None and msg.parts is None:
            out[-1] = prev.model_copy(update={"content": f"{prev.content}\n\n{msg.content}",
                                              "metadata": {**msg.metadata, **prev.metadata}})
        elif msg.role == "assistant" and not prev.tool_calls and prev.parts and msg.parts is not None:
            head = [*prev.parts[:-1], prev.parts[-1].model_copy(update={"text": prev.parts[-1].text.rstrip() + "\n\n"})]
            merged = with_parts(msg, [*head, *msg.parts])
            out[-1] = merged.model_copy(update={"metadata": {**msg.metadata, **prev.metadata}})
        else:
            out.append(msg)
    return out


def trim_tail(messages: list[Message]) -> list[Message]:
    """Drop what follows the last assistant turn: environment feedback after the final reply ("Observation:
    Episode finished, reward = True") teaches nothing and leaves a conversation that does not end with a reply."""
    end = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
    if end < 0:
        raise RecordError("no_assistant_turn", "nothing to supervise after alignment")
    return messages[: end + 1]


def render_chat(traj: Trajectory, seed: int, rewrites: Counter[str] | None = None) -> Trajectory:
    """The Agent-FLAN conversation rendering of ``traj`` (see the module docstring).

    Prompts are cleaned too (`prompts.clean`): system and user instructions that prescribe a reply format the
    aligned replies no longer follow are removed or rewritten, and each rewrite is counted in ``rewrites``."""
    rewrites = rewrites if rewrites is not None else Counter()
    key = traj.id
    actions = [c.name for _, c in traj.calls()]
    tools = prompts.clean_tools(traj.tools, actions, rewrites)
    intro = tools_prompt(tools, seed, key, actions)
    messages: list[Message] = []
    kept_system = [prompts.clean(m.content, "system", rewrites) for m in traj.messages if m.role == "system"]
    system = tools_system(intro, "\n\n".join(t for t in kept_system if t.strip()))
    if system.content:
        messages.append(system)
    for index, msg in enumerate(traj.messages):
        if msg.role == "system":
            continue
        if msg.role == "assistant":
            aligned = _chat_assistant(msg, index, seed, key)
            if aligned.content.strip() or aligned.tool_calls:
                messages.append(aligned)
            continue
        if msg.role == "user" and msg.parts is None:
            text = prompts.clean(msg.content, "user", rewrites)
            if not text.strip():
                continue
            msg = msg.model_copy(update={"content": text}) if text != msg.content else msg
        messages.append(msg)
    return traj.model_copy(update={"tools": tools, "messages": trim_tail(merge_adjacent(messages)),
                                   "metadata": {**traj.metadata, "kind": "agent", "rendering": "chat"}})


def render_react_kind(traj: Trajectory) -> Trajectory:
    """The trajectory in ReAct text (`formats.react.render_react`), as a ``react`` record of the build."""
    rendered = render_react(traj)
    return rendered.model_copy(update={"messages": trim_tail(merge_adjacent(rendered.messages)), "metadata": {**traj.metadata, **rendered.metadata, "kind": "react",
                                                    "rendering": "react"}})


def choose_react(keys: list[str], fraction: float, seed: int) -> set[str]:
    """Exactly ``round(fraction * len(keys))`` keys, chosen by a seeded ranking (not a per-record coin flip,
    which misses the fraction on small data)."""
    n = round(fraction * len(keys))
    # The first n of `ranked` order, without ranking them all: a sort key per agent record was align's peak.
    return set(heapq.nsmallest(n, keys, key=lambda k: (stable_hash(seed, k, "react"), k)))
