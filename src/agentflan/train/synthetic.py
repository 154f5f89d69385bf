"""A small synthetic agent corpus in canonical form, for smoke tests, benchmarks and GPU checks that must run
without the real corpora. Seeded and deterministic; every capability and several sources occur, and the
patterns are regular enough that a tiny model's loss visibly falls within a few dozen steps.

>>> corpus = synthetic_corpus(8)
>>> sorted({t.metadata["kind"] for t in corpus})
['agent', 'general', 'instruct', 'negative']
"""

from __future__ import annotations

from agentflan.schema import Message, Part, Provenance, Tool, ToolCall, Trajectory
from agentflan.seeding import rng_for

_CITIES = ["Paris", "Berlin", "Tokyo", "Lima", "Oslo", "Cairo", "Delhi", "Quito"]
_ITEMS = ["apples", "books", "lamps", "tickets", "chairs", "pencils"]
_TOOLS = [
    Tool(name="weather", description="Current weather in a city.",
         parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    Tool(name="price", description="Price of an item in a city.",
         parameters={"type": "object", "properties": {"item": {"type": "string"}, "city": {"type": "string"}},
                     "required": ["item", "city"]}),
]


def _agent(i: int, seed: int) -> Trajectory:
    rng = rng_for(seed, "synthetic", i)
    city = rng.choice(_CITIES)
    if rng.random() < 0.5:
        query, tool, args = f"What is the weather in {city}?", "weather", {"city": city}
        result, answer = f'{{"temp": {rng.randint(-5, 35)}}}', f"It is mild in {city} today."
    else:
        item = rng.choice(_ITEMS)
        query, tool, args = f"How much do {item} cost in {city}?", "price", {"item": item, "city": city}
        result, answer = f'{{"price": {rng.randint(1, 99)}}}', f"The {item} cost about that much in {city}."
    parts = [Part(text=f"I need the {tool} tool to answer this.", capability="reasoning")]
    return Trajectory(
        id=f"synthetic-agent-{i}", tools=_TOOLS,
        messages=[Message(role="system", content="You are a helpful assistant with tools."),
                  Message(role="user", content=query),
                  Message(role="assistant", parts=parts, tool_calls=[ToolCall(id=f"c{i}", name=tool, arguments=args)]),
                  Message(role="tool", content=result, tool_call_id=f"c{i}", name=tool),
                  Message(role="assistant", content=answer)],
        provenance=Provenance(source="synthetic/tools.jsonl", format="canonical", line=i + 1),
        metadata={"kind": "agent", "source": "tools"})


def _format(i: int, seed: int) -> Trajectory:
    rng = rng_for(seed, "synthetic-format", i)
    city = rng.choice(_CITIES)
    return Trajectory(
        id=f"synthetic-format-{i}",
        messages=[Message(role="user", content=f'Reply with JSON {{"city": ...}} naming the city in: I live in {city}.'),
                  Message(role="assistant", content=f'{{"city": "{city}"}}', capability="instruction_following")],
        provenance=Provenance(source="synthetic/format.jsonl", format="canonical", line=i + 1),
        metadata={"kind": "instruct", "source": "format"})


def _negative(i: int, seed: int) -> Trajectory:
    rng = rng_for(seed, "synthetic-negative", i)
    city = rng.choice(_CITIES)
    return Trajectory(
        id=f"synthetic-negative-{i}",
        messages=[Message(role="user", content=f"What is the weather in {city}?"),
                  Message(role="assistant", content="I have no tool to check the weather, so I cannot say.")],
        provenance=Provenance(source="synthetic/negative.jsonl", format="canonical", line=i + 1),
        metadata={"kind": "negative", "source": "negative"})


def _general(i: int, seed: int) -> Trajectory:
    rng = rng_for(seed, "synthetic-general", i)
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    return Trajectory(
        id=f"synthetic-general-{i}",
        messages=[Message(role="user", content=f"What is {a} plus {b}?"),
                  Message(role="assistant", content=f"{a} plus {b} is {a + b}.")],
        provenance=Provenance(source="synthetic/general.jsonl", format="canonical", line=i + 1),
        metadata={"kind": "general", "source": "general"})


def synthetic_corpus(n: int, seed: int = 0) -> list[Trajectory]:
    """``n`` trajectories: half tool use, and format-following, negative and general samples."""
    makers = [_agent, _agent, _format, _negative, _general]
    return [makers[i % len(makers)](i, seed) for i in range(n)]
