"""Hypothesis strategies that generate valid canonical `Trajectory`s, for round-trip and property tests.

Two families:

- `trajectories()` — everything the schema allows: labelled parts (capability / loss / weight), message-level
  labels and metadata, per-call loss fields, tool calls with or without ids, calls to tools that are not in the
  list, flags, provenance, free metadata, and (sometimes) message orders no corpus would write.
- `chat_trajectories()` — only what the common chat formats (OpenAI messages, ShareGPT, HF chat templates) can
  carry: system/user/assistant/tool turns with plain text, tool calls with ids and dict arguments answered by
  ``tool`` messages, and a tools list.

Tool parameter schemas are generated already normalised (a fixpoint of `toolschema.normalise_schema`), because
every reader normalises the schemas it reads: a canonical trajectory never holds another dialect.

Import from tests anywhere under ``tests/`` (pytest puts ``tests/`` on ``sys.path`` through ``conftest.py``)::

    from strategies import chat_trajectories, trajectories

    @given(trajectories())
    def test_round_trip(t): ...
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from agentflan.schema import CAPABILITIES, Flag, Message, Part, Provenance, Tool, ToolCall, Trajectory

__all__ = [
    "arguments_for",
    "chat_trajectories",
    "json_values",
    "metadata_dicts",
    "parameter_schemas",
    "texts",
    "tool_names",
    "tools_lists",
    "trajectories",
]

# Lone surrogates cannot be encoded as UTF-8, so no real file holds them; everything else is fair game.
_CHARS = st.characters(blacklist_categories=("Cs",))


def texts(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any UTF-8-encodable text, biased towards the characters agent data is full of (JSON, newlines, keywords)."""
    interesting = st.sampled_from(
        ["", " ", "\n", "Thought: ", "Action: ", "```json\n", '{"a": 1}', "é", "中文", "\t", "'", '"', "\\"]
    )
    return st.one_of(
        st.text(_CHARS, min_size=min_size, max_size=max_size),
        st.lists(interesting, min_size=1, max_size=4).map("".join).filter(lambda s: len(s) >= min_size),
    )


def nonempty_texts(max_size: int = 40) -> st.SearchStrategy[str]:
    return texts(min_size=1, max_size=max_size).filter(lambda s: s.strip() != "")


_IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True)


def tool_names() -> st.SearchStrategy[str]:
    """Function names as real corpora write them (identifiers, dotted names, ToolBench's ``x_for_y``)."""
    return st.one_of(_IDENT, st.builds(lambda a, b: f"{a}.{b}", _IDENT, _IDENT),
                     st.builds(lambda a, b: f"{a}_for_{b}", _IDENT, _IDENT))


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """JSON-representable values (finite floats, safe integers, string keys) that survive a JSON round trip."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False),
        texts(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(st.lists(children, max_size=3),
                                   st.dictionaries(texts(max_size=8), children, max_size=3)),
        max_leaves=max_leaves,
    )


def metadata_dicts(max_size: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(texts(max_size=10), json_values(), max_size=max_size)


_LEAF_TYPES = ["string", "integer", "number", "boolean"]


@st.composite
def _property_schema(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kinds = [*_LEAF_TYPES, "array", "enum", "untyped"] + (["object"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    schema: dict[str, Any]
    if kind == "enum":
        schema = {"type": "string", "enum": draw(st.lists(texts(max_size=8), min_size=1, max_size=3, unique=True))}
    elif kind == "array":
        schema = {"type": "array", "items": {"type": draw(st.sampled_from(_LEAF_TYPES))}}
    elif kind == "object":
        schema = draw(parameter_schemas(depth + 1))
    elif kind == "untyped":
        # BFCL's "any": no type constraint, the original name kept (what normalise_schema produces).
        schema = {"x-original-type": "any"}
    else:
        schema = {"type": kind}
    if draw(st.booleans()):
        schema["description"] = draw(texts(max_size=20))
    return schema


@st.composite
def parameter_schemas(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    """An ``object`` JSON Schema with typed properties, some required (already normalised)."""
    names = draw(st.lists(_IDENT, max_size=4, unique=True))
    properties = {n: draw(_property_schema(depth)) for n in names}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [n for n in names if draw(st.booleans())]
    if required:
        schema["required"] = required
    return schema


@st.composite
def _value_for(draw: st.DrawFn, schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    kind = schema.get("type")
    if kind == "string":
        return draw(texts(max_size=15))
    if kind == "integer":
        return draw(st.integers(-1000, 10**6))
    if kind == "number":
        return draw(st.floats(-1e6, 1e6, allow_nan=False))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "array":
        return draw(st.lists(_value_for(schema.get("items") or {}), max_size=3))
    if kind == "object":
        return draw(arguments_for(schema))
    return draw(json_values(max_leaves=3))


@st.composite
def arguments_for(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments valid against ``schema``: every required key, some optional ones."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    return {k: draw(_value_for(s)) for k, s in properties.items() if k in required or draw(st.booleans())}


@st.composite
def tools_lists(draw: st.DrawFn, min_size: int = 0, max_size: int = 3) -> list[Tool]:
    names = draw(st.lists(tool_names(), min_size=min_size, max_size=max_size, unique=True))
    return [Tool(name=n, description=draw(texts(max_size=30)), parameters=draw(parameter_schemas())) for n in names]


# ---------------------------------------------------------------------------------------------------------------
# Messages


@st.composite
def _call(draw: st.DrawFn, tools: list[Tool], call_id: str | None, rich: bool) -> ToolCall:
    if tools and draw(st.integers(0, 9)) > (1 if rich else -1):
        tool = draw(st.sampled_from(tools))
        name, arguments = tool.name, draw(arguments_for(tool.parameters))
    else:  # a tool missing from the list (the pipeline flags it) or a free call when there is no list
        name, arguments = draw(tool_names()), draw(st.dictionaries(_IDENT, json_values(4), max_size=3))
    labels: dict[str, Any] = {}
    if rich:
        labels = {"name_loss": draw(st.none() | st.booleans()), "arguments_loss": draw(st.none() | st.booleans()),
                  "name_weight": draw(st.none() | _weights()), "arguments_weight": draw(st.none() | _weights())}
    return ToolCall(id=call_id, name=name, arguments=arguments, **labels)


def _weights() -> st.SearchStrategy[float]:
    return st.floats(0, 4, allow_nan=False).map(lambda w: round(w, 3))


@st.composite
def _parts(draw: st.DrawFn) -> list[Part]:
    return [
        Part(text=draw(texts(max_size=25)), capability=draw(st.none() | st.sampled_from(CAPABILITIES)),
             loss=draw(st.none() | st.booleans()), weight=draw(st.none() | _weights()))
        for _ in range(draw(st.integers(0, 4)))
    ]


@st.composite
def _labels(draw: st.DrawFn, rich: bool) -> dict[str, Any]:
    """Optional labels of a whole message (rich mode only)."""
    if not rich:
        return {}
    out: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:
        out["parts"] = draw(_parts())
    if draw(st.booleans()):
        out["capability"] = draw(st.sampled_from(CAPABILITIES))
    if draw(st.booleans()):
        out["loss"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        out["weight"] = draw(_weights())
    if draw(st.integers(0, 3)) == 0:
        out["metadata"] = draw(metadata_dicts(2))
    if draw(st.integers(0, 5)) == 0:
        out["name"] = draw(nonempty_texts(12))
    return out


def _message(role: str, content: str, labels: dict[str, Any], **fields: Any) -> Message:
    if "parts" in labels:
        content = ""  # filled from the parts by the model
    return Message(role=role, content=content, **fields, **labels)


@st.composite
def _structured_messages(draw: st.DrawFn, tools: list[Tool], rich: bool, ids: bool) -> list[Message]:
    """system? then user turns, each answered by tool-call steps and (usually) a final reply."""
    messages: list[Message] = []
    counter = 0
    if draw(st.booleans()):
        messages.append(_message("system", draw(texts()), draw(_labels(rich))))
    for _ in range(draw(st.integers(1, 3))):
        messages.append(_message("user", draw(texts()), draw(_labels(rich))))
        for _ in range(draw(st.integers(0, 2))):
            calls = []
            for _ in range(draw(st.integers(1, 2))):
                call_id = f"call_{counter}" if ids or (rich and draw(st.booleans())) else None
                counter += 1
                calls.append(draw(_call(tools, call_id, rich)))
            messages.append(_message("assistant", draw(texts()), draw(_labels(rich)), tool_calls=calls))
            for call in calls:
                extra = draw(_labels(rich))
                extra.pop("name", None)
                messages.append(_message("tool", draw(texts()), extra, tool_call_id=call.id, name=call.name))
        if draw(st.integers(0, 4)) > 0:
            messages.append(_message("assistant", draw(nonempty_texts()), draw(_labels(rich))))
    return messages


@st.composite
def _free_messages(draw: st.DrawFn, tools: list[Tool]) -> list[Message]:
    """Any order of roles and any combination of optional fields the schema accepts."""
    out = []
    for i in range(draw(st.integers(1, 5))):
        role = draw(st.sampled_from(["system", "user", "assistant", "tool"]))
        fields: dict[str, Any] = {}
        if role == "assistant" and draw(st.booleans()):
            fields["tool_calls"] = [draw(_call(tools, draw(st.none() | st.just(f"c{i}")), True))]
        if role == "tool" or draw(st.integers(0, 5)) == 0:
            fields["tool_call_id"] = draw(st.none() | st.just(f"c{i}"))
        out.append(_message(role, draw(texts()), draw(_labels(True)), **fields))
    return out


@st.composite
def _provenance(draw: st.DrawFn) -> Provenance:
    return Provenance(
        source=draw(nonempty_texts(30)),
        format=draw(st.none() | st.sampled_from(["openai", "toolbench", "bfcl", "react"])),
        line=draw(st.none() | st.integers(1, 10**6)),
        index=draw(st.none() | st.integers(0, 10**6)),
        item=draw(st.none() | texts(max_size=10)),
        licence=draw(st.none() | st.sampled_from(["MIT", "Apache-2.0"])),
    )


@st.composite
def _flags(draw: st.DrawFn, n_messages: int) -> list[Flag]:
    codes = st.sampled_from(["unknown_tool", "args_schema", "args_not_json", "orphan_observation", "truncated"])
    return [
        Flag(code=draw(codes), message=draw(st.none() | st.integers(0, n_messages - 1)), detail=draw(texts(max_size=20)))
        for _ in range(draw(st.integers(0, 2)))
    ]


_IDS = st.one_of(_IDENT, st.from_regex(r"[a-z]+:[0-9]{1,4}(:[a-z0-9_\[\]]{1,8})?", fullmatch=True),
                 nonempty_texts(20))


@st.composite
def trajectories(draw: st.DrawFn) -> Trajectory:
    """Any valid canonical trajectory, including every optional field the schema has."""
    tools = draw(tools_lists())
    free = draw(st.integers(0, 5)) == 0
    messages = draw(_free_messages(tools) if free else _structured_messages(tools, rich=True, ids=False))
    return Trajectory(
        id=draw(_IDS),
        tools=tools,
        messages=messages,
        provenance=draw(st.none() | _provenance()),
        flags=draw(_flags(len(messages))),
        metadata=draw(metadata_dicts()),
    )


@st.composite
def chat_trajectories(draw: st.DrawFn, with_ids: bool = True) -> Trajectory:
    """Trajectories the common chat formats can carry: plain-text turns, tool calls (with ids unless
    ``with_ids=False``) answered by ``tool`` messages, a tools list; no labels, metadata, flags or provenance."""
    tools = draw(tools_lists())
    return Trajectory(id=draw(_IDS), tools=tools,
                      messages=draw(_structured_messages(tools, rich=False, ids=with_ids)))
