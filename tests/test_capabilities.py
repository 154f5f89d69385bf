from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings

from agentflan.capabilities import default_capability, spans
from agentflan.schema import Trajectory
from strategies import trajectories


@settings(max_examples=150, deadline=None)
@given(trajectories())
def test_spans_resolve_parts_like_segments(traj: Trajectory) -> None:
    """`spans` skips building Part models for speed; it must resolve labels exactly as `Message.segments`.
    Per message, text parts come first, then each call's name (retrieval) and arguments (understanding)."""
    got: dict[int, list[tuple]] = defaultdict(list)
    for s in spans(traj, supervised_only=False):
        got[s.message].append((s.text, s.capability, s.loss, s.weight))
    for index, message in enumerate(traj.messages):
        if message.role != "assistant":
            assert index not in got
            continue
        expected = [(p.text, p.capability or default_capability(message, traj), bool(p.loss),
                     p.weight if p.weight is not None else 1.0) for p in message.segments() if p.text]
        assert got[index][: len(expected)] == expected
        call_spans = got[index][len(expected):]
        assert [(t[0], t[1]) for t in call_spans[::2]] == [(c.name, "retrieval") for c in message.tool_calls]
        assert {t[1] for t in call_spans[1::2]} <= {"understanding"}
