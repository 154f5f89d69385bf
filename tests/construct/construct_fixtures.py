"""Small hand-written trajectories, files and recipes for the construct tests (no real corpora here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory


def tool(name: str, description: str, required: list[str], **props: str) -> Tool:
    return Tool(name=name, description=description,
                parameters={"type": "object", "required": required,
                            "properties": {k: {"type": v} for k, v in props.items()}})


WEATHER = tool("get_weather", "Get the current weather for a city.", ["city"], city="string", unit="string")
FLIGHTS = tool("search_flights", "Search direct flights between two airports on a date.",
               ["origin", "destination"], origin="string", destination="string", date="string")
POOL_TOOLS = [
    tool("send_email", "Send an email on the user's behalf.", ["to"], to="string", body="string"),
    tool("stock_quote", "Latest trading price of a stock by ticker symbol.", ["ticker"], ticker="string"),
    tool("translate_text", "Translate a text into another language.", ["text"], text="string"),
    tool("book_table", "Reserve a table at a restaurant.", ["restaurant"], restaurant="string"),
    tool("weather_forecast", "Weather forecast for a city for the next days.", ["city"], city="string"),
]


def agent_traj(i: int, steps: int = 2, thought: str = "I should look this up.") -> Trajectory:
    """A tool-using trajectory in canonical form, as a reader would produce it."""
    messages = [Message(role="user", content=f"What is the weather in City{i} and are there flights from AMS to "
                                             f"X{i} on 2024-05-03?")]
    for k in range(steps):
        call = ToolCall(id=f"c{k}", name="get_weather" if k % 2 == 0 else "search_flights",
                        arguments={"city": f"City{i}"} if k % 2 == 0 else
                        {"origin": "AMS", "destination": f"X{i}", "date": "2024-05-03"})
        messages.append(Message(role="assistant", parts=[Part(text=f"{thought} Step {k} of record {i}.",
                                                              capability="reasoning")], tool_calls=[call]))
        messages.append(Message(role="tool", content=json.dumps({"ok": k}), tool_call_id=f"c{k}", name=call.name))
    messages.append(Message(role="assistant", content=f"Here is what I found for city {i}."))
    return Trajectory(id=f"t{i}", tools=[WEATHER, FLIGHTS], messages=messages)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def recipe_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "seed": 0,
        "agent": {"inputs": [{"path": "agent/agent.jsonl", "format": "canonical", "name": "agent"}]},
        "alignment": {"react_fraction": 0.25},
        "instruct": {"count": 6},
        "negatives": {"counts": {"tools_given_no_need": 3, "no_tools_needs_tool": 3,
                                 "irrelevant_tools_needs_tool": 3, "missing_argument": 3, "distractor_tools": 2},
                      "tool_pools": [{"path": "pool/pool.jsonl", "format": "canonical", "name": "pool"}]},
        "general": {"inputs": [{"path": "general/general.jsonl", "name": "general"},
                               {"path": "general/questions.jsonl", "name": "questions"}], "ratio": 0.5},
        "exports": ["agentflan", "openai"],
    }
    for key, value in overrides.items():
        base[key] = value
    return base


def assert_balanced(capability_tokens: dict, tolerance: float = 0.05) -> None:
    """After balancing, the weights hold in the reading the build used: with ``kept_fraction`` each weighted
    capability keeps that share of its own supervised tokens; with ``share`` the weighted capabilities'
    supervised tokens stand in the weights' ratio. Within ``tolerance`` (the issue's ±5%)."""
    weights = capability_tokens["weights"]
    if capability_tokens["target"] == "kept_fraction":
        kept = capability_tokens["kept_fraction"]
        for name, w in weights.items():
            assert abs(kept[name] - w) <= tolerance, (name, kept[name], w, kept)
        return
    total = sum(weights.values())
    for name, w in weights.items():
        share = capability_tokens["share_after"][name]
        assert abs(share - w / total) <= tolerance, (name, share, w / total, capability_tokens["share_after"])
