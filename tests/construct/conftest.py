"""Fixtures of the construct tests: a data root of small hand-written files."""

from __future__ import annotations

from pathlib import Path

import pytest
from construct_fixtures import POOL_TOOLS, agent_traj, write_jsonl

from agentflan.schema import Message, Trajectory


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root with agent, tool-pool and general files; AGENTFLAN_DATA points at it."""
    root = tmp_path / "data"
    write_jsonl(root / "agent" / "agent.jsonl", [agent_traj(i).to_dict() for i in range(24)])
    pool = Trajectory(id="pool", tools=POOL_TOOLS, messages=[Message(role="user", content="hi")])
    write_jsonl(root / "pool" / "pool.jsonl", [pool.to_dict()])
    write_jsonl(root / "general" / "general.jsonl",
                [{"id": f"g{i}", "instruction": f"Write a short poem about the number {i}.",
                  "output": f"Number {i}, so round and true, a little poem just for you."} for i in range(30)])
    write_jsonl(root / "general" / "questions.jsonl",
                [{"question_id": i, "category": "writing", "turns": [f"Tell me a story about {i}."]} for i in range(3)])
    monkeypatch.setenv("AGENTFLAN_DATA", str(root))
    return root
