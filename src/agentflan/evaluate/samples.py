"""One evaluation item, whatever the benchmark: the prompt a backend sends and what scoring needs.

Every benchmark (Agent-H, BFCL) turns its data into `Sample`s, every backend answers them, and every reply is
classified the same way, so one reply parser and one matcher serve all benchmarks.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from agentflan.errors import RecordError
from agentflan.schema import Trajectory

# Agent-H's two format levels (paper §4.3): the system prompt of each; the general one is also how a backend
# describes tools to a chat template that ignores ``tools``.
REACT_PROMPT = """You are a helpful assistant.{tools}
When you need a tool, reply in exactly this format:
Thought: your reasoning
Action: the tool name
Action Input: the arguments as a JSON object
When no tool is needed, or none of the tools can do what is asked, answer the user directly in plain text."""

GENERAL_PROMPT = """You are a helpful assistant.{tools}
To call a tool, reply with only a JSON object: {{"name": "<tool name>", "arguments": {{<arguments>}}}}.
When no tool is needed, or none of the tools can do what is asked, answer the user directly."""


@dataclass
class Sample:
    id: str
    bench: str  # "agent-h" | "bfcl"
    category: str  # Agent-H circumstance a/b/c/d, or the BFCL category
    messages: list[dict[str, Any]]  # the prompt: system/user/assistant/tool turns, OpenAI-shaped
    tools: list[dict[str, Any]] = field(default_factory=list)  # offered functions {name, description, parameters}
    expected: list[dict[str, Any]] | None = None  # expected calls; [] = no call is right; None = not scored
    native_tools: bool = True  # pass ``tools`` to the chat template / API (False: the prompt lists them itself)
    meta: dict[str, Any] = field(default_factory=dict)  # format level, source, ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        try:
            return cls(**data)
        except TypeError as exc:
            raise RecordError("bad_sample", str(exc)) from None


def tool_dicts(traj: Trajectory) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in traj.tools]


def prompt_messages(traj: Trajectory) -> list[dict[str, Any]]:
    """The turns before the first assistant turn: what a model is asked to continue."""
    out: list[dict[str, Any]] = []
    for msg in traj.messages:
        if msg.role == "assistant":
            break
        out.append({"role": msg.role, "content": msg.content})
    if not any(m["role"] == "user" for m in out):
        raise RecordError("no_user_turn", f"{traj.id}: no user turn before the first assistant turn", "messages")
    return out


def first_user_text(traj: Trajectory) -> str | None:
    return next((m.content for m in traj.messages if m.role == "user" and m.content.strip()), None)


def plain_schema(value: Any) -> Any:
    """A tool or schema as a person would write it: without the ``x-`` bookkeeping keys normalisation adds
    (what prompts and chat templates show the model)."""
    if isinstance(value, dict):
        return {k: plain_schema(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("x-"))}
    if isinstance(value, list):
        return [plain_schema(v) for v in value]
    return value


def openai_tools(tools: list[dict[str, Any]], rename: Any = None) -> list[dict[str, Any]]:
    """Functions → ``[{"type": "function", "function": {...}}]`` for chat templates and OpenAI-style APIs;
    ``rename`` maps tool names (OpenAI's API forbids dots)."""
    out = []
    for tool in tools:
        fn = plain_schema(tool)
        if rename is not None:
            fn = {**fn, "name": rename(fn["name"])}
        out.append({"type": "function", "function": fn})
    return out


def system_prompt(fmt: str, tools: list[dict[str, Any]]) -> str:
    """The system prompt of Agent-H's ``react`` or ``general`` level, listing ``tools``."""
    if tools:
        listing = "\n".join(json.dumps(plain_schema(t), ensure_ascii=False) for t in tools)
        tools_text = f" You have access to the following tools:\n{listing}"
    else:
        tools_text = " You have no tools available."
    return (REACT_PROMPT if fmt == "react" else GENERAL_PROMPT).format(tools=tools_text)
