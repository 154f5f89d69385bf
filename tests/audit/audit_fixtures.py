"""Small canonical records for the audit tests (written here, never copied from the real corpora)."""

from __future__ import annotations

from pathlib import Path

from agentflan.schema import Message, Part, Provenance, Tool, ToolCall, Trajectory

WEATHER = Tool(
    name="weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]},
                       "days": {"type": "integer"}},
        "required": ["city"],
    },
)


def call_traj(rid: str = "ok", fmt: str = "openai", tools: list[Tool] | None = None, name: str = "weather",
              arguments: dict | None = None, query: str = "What is the weather in Paris today?",
              answer: str = "It is 21 °C in Paris.") -> Trajectory:
    """user → assistant call → tool result → assistant answer."""
    return Trajectory(
        id=rid,
        tools=[WEATHER] if tools is None else tools,
        messages=[
            Message(role="user", content=query),
            Message(role="assistant", content="I should look up the weather.",
                    tool_calls=[ToolCall(id="c0", name=name, arguments={"city": "Paris"} if arguments is None
                                         else arguments)]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name=name),
            Message(role="assistant", content=answer),
        ],
        provenance=Provenance(source="fixture.jsonl", format=fmt, line=1),
    )


def built_agent(rid: str = "b-agent") -> Trajectory:
    """A built Agent-FLAN style sample: reasoning, elicit statement and arguments as separate labelled parts."""
    return Trajectory(
        id=rid,
        tools=[WEATHER],
        metadata={"kind": "agent"},
        messages=[
            Message(role="system", content="You can use the weather tool: it gives the current weather."),
            Message(role="user", content="What is the weather in Paris today?"),
            Message(role="assistant", parts=[Part(text="The user wants today's weather in Paris, so I will check "
                                                       "it before answering.", capability="reasoning")]),
            Message(role="assistant", parts=[Part(text="I will use the weather tool.", capability="retrieval")]),
            Message(role="assistant", parts=[Part(text='{"city": "Paris"}', capability="understanding")],
                    tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"}, name_loss=False,
                                         arguments_loss=False)]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name="weather"),
            Message(role="assistant", content="It is 21 °C in Paris right now.", capability="answer"),
        ],
        provenance=Provenance(source="built.jsonl", format="react", line=1),
    )


def built_negative(rid: str, ntype: str, tools: bool) -> Trajectory:
    return Trajectory(
        id=rid,
        tools=[WEATHER] if tools else [],
        metadata={"kind": "negative", "negative": ntype, "reply_source": "template"},
        messages=[Message(role="user", content="Please book me a table for two tonight."),
                  Message(role="assistant", content="I cannot book tables, but I can suggest how to do it.")],
    )


def write_jsonl(path: Path, trajs: list[Trajectory], extra_lines: list[str] = ()) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for t in trajs:
            f.write(t.to_json() + "\n")
        for line in extra_lines:
            f.write(line + "\n")
    return path
