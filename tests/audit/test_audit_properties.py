"""Any valid canonical trajectory can be audited: the views never fail and label every token once."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.audit.entanglement import model_view
from agentflan.audit.run import AuditOptions, run_audit
from agentflan.schema import CAPABILITIES, Trajectory
from strategies import trajectories


@given(trajectories())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_view_labels_every_span(traj: Trajectory) -> None:
    view, spans = model_view(traj)
    assert view in {"built", "react", "function_call", "text"}
    assert all(s.capability in CAPABILITIES and s.text for s in spans)
    if view == "function_call":
        names = [s.text for s in spans if s.capability == "retrieval"]
        for index, call in traj.calls():
            message = traj.messages[index]
            supervised = call.name_loss if call.name_loss is not None else message.supervised
            if supervised:
                assert json.dumps(call.name, ensure_ascii=False)[1:-1] in names


@given(st.lists(trajectories(), min_size=1, max_size=12))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
def test_audit_never_fails_on_valid_records(tmp_path: Path, trajs: list[Trajectory]) -> None:
    path = tmp_path / "random.jsonl"
    path.write_text("".join(t.to_json() + "\n" for t in trajs), encoding="utf-8")
    report = run_audit([path], tmp_path / "out", AuditOptions(show_progress=False)).report
    assert report["read"] == len(trajs)
    assert report["records"] + report["rejected"] == len(trajs)
    assert report["view_errors"]["count"] == 0
    assert 0.0 <= report["format_share"] <= 1.0
    cells = report["negative_coverage"]
    assert sum(cells[c] for c in ("tools_call", "tools_no_call", "no_tools_call", "no_tools_no_call",
                                  "no_reply")) == report["records"]
