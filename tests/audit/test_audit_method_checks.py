"""The audit's checks of what the method removes: prompt/reply format mismatch, argument grounding, reply
wording, unfinished trajectories, kept fractions and the negative share. Each is shown to find the defect
(the old build's shape) and to pass the repaired record, on small hand-written records."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from audit_fixtures import WEATHER, built_agent, built_negative, call_traj, write_jsonl
from typer.testing import CliRunner

from agentflan.audit.run import AuditOptions, run_audit
from agentflan.cli import app
from agentflan.schema import Message, Part, ToolCall, Trajectory


def _audit(tmp_path: Path, trajs: list[Trajectory], name: str = "a") -> dict[str, Any]:
    path = write_jsonl(tmp_path / f"{name}.jsonl", trajs)
    return run_audit([path], tmp_path / f"{name}-out", AuditOptions(show_progress=False)).report


def _chat(system: str, rid: str = "c") -> Trajectory:
    traj = built_agent(rid)
    messages = [Message(role="system", content=system), *traj.messages[1:]]
    return traj.model_copy(update={"messages": messages, "metadata": {"kind": "agent", "rendering": "chat"}})


def _instruct(query: str, arguments: dict, rid: str = "i") -> Trajectory:
    target = json.dumps({"tool": "weather", "args": arguments})
    return Trajectory(id=rid, tools=[WEATHER], metadata={"kind": "instruct", "instruct_format": "json"}, messages=[
        Message(role="system", content="You can call this API:\n- `weather`: Current weather for a city."),
        Message(role="user", content=f'{query}\n\nReply with only a JSON object with two keys: "tool" for the '
                                     'tool name and "args" for its arguments as a JSON object.'),
        Message(role="assistant", parts=[Part(text=target, capability="instruction_following")])])


def test_a_chat_record_whose_prompt_asks_for_react_is_a_mismatch(tmp_path: Path) -> None:
    old = _chat("Use this format:\nThought: your reasoning\nAction: the tool\nAction Input: JSON", "old")
    autogpt = _chat('You are AutoGPT. Remember: ALWAYS call "Finish" function at the end.', "autogpt")
    new = _chat("You can use the weather tool: it gives the current weather.", "new")
    r = _audit(tmp_path, [old, autogpt, new, _instruct("Weather in Paris?", {"city": "Paris"})])
    f = r["format_mismatch"]
    assert (f["mismatched"], f["chat_mismatched"], r["metrics"]["chat_format_mismatch"]) == (2, 2, 2)
    assert f["by_format"]["react"] == 1 and f["by_format"]["function_rules"] == 1
    assert f["examples"]["react"] == ["old"] and f["by_rendering"]["instruct"]["mismatched"] == 0
    assert r["metrics"]["format_mismatch"] == 0.5
    assert _audit(tmp_path, [new], "clean")["metrics"]["chat_format_mismatch"] == 0


def test_format_following_samples_with_invented_values_are_counted(tmp_path: Path) -> None:
    invented = _instruct("Can you delete my account?", {"city": "user1pass"}, "invented")
    grounded = _instruct("Weather in Paris, please.", {"city": "Paris"}, "grounded")
    r = _audit(tmp_path, [invented, grounded, call_traj("agent")])
    g = r["argument_grounding"]
    # the instruct targets' values: tool name + city each; the agent's call is grounded by its query
    assert g["by_kind"]["instruct"] == {"values": 4, "ungrounded": 1, "share": 0.25, "records": 2,
                                        "records_ungrounded": 1}
    assert r["metrics"]["instruct_ungrounded_arguments"] == 1
    assert g["details"][0]["id"] == "invented" and g["details"][0]["value"] == "user1pass"
    assert _audit(tmp_path, [grounded], "ok")["metrics"]["instruct_ungrounded_arguments"] == 0


def test_repeated_negative_replies_and_call_phrases_are_counted(tmp_path: Path) -> None:
    same = [built_negative(f"n{i}", "no_tools_needs_tool", tools=False) for i in range(4)]
    varied = [built_negative(f"v{i}", "irrelevant_tools_needs_tool", tools=True).model_copy(update={"messages": [
        Message(role="user", content="Book a table."),
        Message(role="assistant", content=f"None of my tools can book table {i}. Reason number {i}.")]})
        for i in range(4)]
    r = _audit(tmp_path, [*same, *varied, built_agent()])
    p = r["phrasing"]
    assert p["replies"]["no_tools_needs_tool"]["top_repeated_share"] == 1.0
    assert p["replies"]["no_tools_needs_tool"]["distinct_replies"] == 1
    assert p["replies"]["irrelevant_tools_needs_tool"]["top_repeated_share"] == 0.0
    assert r["metrics"]["negative_reply_repetition"] == 1.0
    # built_agent names its tool in a retrieval part of its own ("I will use the weather tool."), then calls
    assert r["phrasing"]["call_phrase_turns"] == 1 and r["phrasing"]["call_phrases_used"] == {"i will use": 1}
    says = built_agent("says").model_copy(update={"messages": [
        Message(role="user", content="Weather in Paris?"),
        Message(role="assistant", content="I will use `weather`.",
                tool_calls=[ToolCall(name="weather", arguments={"city": "Paris"})])]})
    plain = says.model_copy(update={"id": "plain", "messages": [says.messages[0], says.messages[1].model_copy(
        update={"content": "The right tool here is `weather`."})]})
    assert _audit(tmp_path, [says, plain], "phr")["phrasing"]["call_phrase_share"] == 0.5


def test_unfinished_trajectories_and_kept_fractions(tmp_path: Path) -> None:
    full = built_agent("full")
    cut = full.model_copy(update={"id": "cut", "messages": full.messages[:5]})
    r = _audit(tmp_path, [full, cut])
    u = r["unfinished"]
    assert (u["unfinished"], u["by_reason"]["ends_on_call"], u["examples"]) == (1, 1, {"ends_on_call": ["cut"]})
    assert r["metrics"]["unfinished"] == 0.5
    # built_agent masks the call's name and arguments; the retrieval and understanding parts stay supervised
    kept = r["capability_balance"]["kept_relative_to_reasoning"]
    assert kept["reasoning"] == 1.0 and 0 < kept["retrieval"] < 1 and 0 < kept["understanding"] < 1
    raw = _audit(tmp_path, [call_traj("raw")], "raw")["capability_balance"]
    assert raw["kept_fraction"] == {}  # only built data carries masks


def test_negative_share_of_the_agent_side(tmp_path: Path) -> None:
    negatives = [built_negative(f"n{i}", "no_tools_needs_tool", tools=False) for i in range(3)]
    r = _audit(tmp_path, [*negatives, *(built_agent(f"a{i}") for i in range(9))])
    assert r["negative_coverage"]["agent_side"] == 12 and r["metrics"]["negative_share"] == 0.25


def test_new_metrics_work_with_fail_on(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [_instruct("Delete my account.", {"city": "user1"})])
    rules = "instruct_ungrounded_arguments>0,chat_format_mismatch>0,unfinished>0,negative_reply_repetition>0.05"
    result = CliRunner().invoke(app, ["audit", str(path), "-o", str(tmp_path / "o"), "-q", "--fail-on", rules])
    assert result.exit_code == 1 and "instruct_ungrounded_arguments>0" in result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert [t["metric"] for t in report["fail_on"]["tripped"]] == ["instruct_ungrounded_arguments"]
    html = (tmp_path / "o" / "report.html").read_text()
    assert all(f'id="{s}"' in html for s in ("prompts", "grounding", "phrasing", "unfinished"))


def test_the_top_sentence_of_a_tie_does_not_depend_on_hash_order() -> None:
    """Sentences used equally often: the report names the same one in every process (it once followed set
    iteration order, so report.json differed between runs under different PYTHONHASHSEED: the old code picks
    the first of eight tied sentences in one process out of eight)."""
    from agentflan.audit.phrasing import Phrasing
    from agentflan.audit.record import AuditedRecord

    words = ["Zebra", "Kiwi", "Mango", "Apple", "Pear", "Fig", "Lime", "Plum"]
    tops = set()
    for shift in range(len(words)):
        order = words[shift:] + words[:shift]
        phrasing = Phrasing()
        neg = built_negative("n", "no_tools_needs_tool", tools=False)
        reply = " ".join(f"{w} reply." for w in order)
        traj = neg.model_copy(update={"messages": [neg.messages[0], Message(role="assistant", content=reply)]})
        phrasing.add(AuditedRecord(traj, "s", reply, [], Counter()))
        tops.add(phrasing.result()["replies"]["no_tools_needs_tool"]["top_sentence"])
    assert tops == {"apple reply."}
