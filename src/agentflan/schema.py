"""The canonical trajectory model every reader produces and every writer consumes.

It follows the OpenAI / Hugging Face chat convention (``messages`` with ``tool_calls``, a ``tool`` role, a
``tools`` list of JSON-schema functions) and adds what the Agent-FLAN method needs: a capability label and a
loss flag (or weight) on every supervised part, provenance, and flags for doubtful content.

Example::

    >>> t = Trajectory(
    ...     id="demo-1",
    ...     tools=[Tool(name="weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})],
    ...     messages=[
    ...         Message(role="user", content="Weather in Paris?"),
    ...         Message(role="assistant", parts=[Part(text="I should look it up.", capability="reasoning")],
    ...                 tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"})]),
    ...         Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name="weather"),
    ...         Message(role="assistant", content="It is 21 °C.", capability="answer"),
    ...     ],
    ... )
    >>> Trajectory.model_validate_json(t.to_json()) == t
    True
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = get_args(Role)

# Every supervised token carries exactly one of these, so per-capability losses partition the total loss.
Capability = Literal[
    "reasoning",  # the thought before an action
    "retrieval",  # choosing the tool: its name
    "understanding",  # the arguments, and reading observations
    "instruction_following",  # format scaffolding: Thought:/Action: keywords, fences, JSON punctuation
    "answer",  # the final reply to the user
    "abstain",  # a negative sample's reply that does not call a tool
    "general",  # general chat data mixed in
]
CAPABILITIES: tuple[str, ...] = get_args(Capability)

# Kinds of training sample an `agentflan build` output holds (manifest `by_kind`).
Kind = Literal["agent", "react", "instruct", "negative", "general"]
KINDS: tuple[str, ...] = get_args(Kind)
# The circumstances of the negative samples `build` makes (``metadata.negative``, in the ids of the release layout).
NEGATIVE_KINDS: tuple[str, ...] = (
    "tools_given_no_need",  # (b) tools + a general query → plain answer
    "no_tools_needs_tool",  # (c) no tools + a query that needs one → plain answer, no pretend call
    "irrelevant_tools_needs_tool",  # tools that do not fit a query that needs a tool → say so, no call
    "missing_argument",  # a required argument is missing → ask back
    "distractor_tools",  # a positive trajectory with irrelevant tools added to its tool list
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Tool(_Model):
    """A function the assistant may call; ``parameters`` is a JSON Schema object (normalised by readers)."""

    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolCall(_Model):
    """One call. Arguments are a dict here; JSON strings exist only at the format edges that demand them.

    ``name_loss``/``arguments_loss`` (and the weights) let balancing mask the tool choice (retrieval) and the
    arguments (understanding) independently; ``None`` means "default for an assistant turn" (supervised).
    """

    id: str | None = None
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    name_loss: bool | None = None
    arguments_loss: bool | None = None
    name_weight: float | None = None
    arguments_weight: float | None = None


class Part(_Model):
    """A labelled span of a message's text. A message's parts concatenate to its ``content``."""

    text: str
    capability: Capability | None = None
    loss: bool | None = None
    weight: float | None = None


class Message(_Model):
    """One turn.

    ``content`` is the text; when ``parts`` is given, ``content`` is their concatenation (set automatically when
    left empty). ``capability``/``loss``/``weight`` label the whole message; a part's own label wins over the
    message's. ``loss=None`` means the default: supervised for assistant turns, not for the others.
    """

    role: Role
    content: str = ""
    parts: list[Part] | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    capability: Capability | None = None
    loss: bool | None = None
    weight: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parts_match_content(self) -> Message:
        if self.parts is not None:
            joined = "".join([p.text for p in self.parts])  # a list: faster than a generator here
            if not self.content:
                self.content = joined
            elif self.content != joined:
                raise ValueError("content must equal the concatenation of parts")
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"only assistant messages carry tool_calls, not {self.role!r}")
        return self

    @property
    def supervised(self) -> bool:
        """Whether the message as a whole gets loss (assistant turns by default, as in XTuner's openai_map_fn)."""
        return self.loss if self.loss is not None else self.role == "assistant"

    def segments(self) -> list[Part]:
        """The message text as labelled parts, resolving message-level defaults into each part."""
        parts = self.parts if self.parts is not None else [Part(text=self.content)]
        # The constructor, not model_construct: every value comes from validated models, so validation cannot
        # fail, and pydantic-core validates these four fields faster than model_construct fills them (1.1 against
        # 2.4 µs a part; this runs per part on the tokenisation and counting hot paths).
        return [
            Part(
                text=p.text,
                capability=p.capability or self.capability,
                loss=p.loss if p.loss is not None else self.supervised,
                weight=p.weight if p.weight is not None else self.weight,
            )
            for p in parts
        ]


class Provenance(_Model):
    """Where a trajectory came from: enough to find the raw record again."""

    source: str
    format: str | None = None
    line: int | None = None  # 1-based line in the source file (JSONL), when known
    index: int | None = None  # 0-based position in the file's record stream
    item: str | None = None  # path inside the record when one record yields several trajectories
    licence: str | None = None


class Flag(_Model):
    """A doubtful but parseable finding kept with the record (`audit` reports it, `build` may drop it)."""

    code: str  # e.g. "unknown_tool", "args_schema", "args_not_json"
    message: int | None = None  # index of the message concerned
    detail: str = ""


class Trajectory(_Model):
    id: str = Field(min_length=1)
    tools: list[Tool] = Field(default_factory=list)
    messages: list[Message] = Field(min_length=1)
    provenance: Provenance | None = None
    flags: list[Flag] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        """Compact, key-order-stable JSON (the basis of byte-identical outputs)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        return cls.model_validate(data)

    def tool_names(self) -> set[str]:
        return {t.name for t in self.tools}

    @property
    def kind(self) -> str | None:
        return self.metadata.get("kind")

    @property
    def environment_actions(self) -> bool:
        """Whether the tools are an environment's action set (bash, click: AgentInstruct, ReAct) synthesised by a
        reader, not APIs a query could ask for. (``tools_synthesized: true`` is how files written before
        ``environment_actions`` said so; ``tools_synthesized`` now always lists the synthesised names.)"""
        return bool(self.metadata.get("environment_actions")) or self.metadata.get("tools_synthesized") is True

    def calls(self) -> list[tuple[int, ToolCall]]:
        """(message index, call) for every tool call, in order."""
        return [(i, c) for i, m in enumerate(self.messages) for c in m.tool_calls]
