"""The AgentInstruct reader on its six prompt styles, its rejections, and `render_react` giving the source back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan import formats
from agentflan.files import sha256_file
from agentflan.formats.agentinstruct import split_kg_arguments
from agentflan.formats.react import render_react
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

FIXTURES = Path(__file__).parent / "fixtures" / "react_family"
DOMAINS = ("os", "db", "kg", "alfworld", "webshop", "mind2web")
traj_ctx = formats.RecordContext(path="out.jsonl", index=0, format="react")


def read_all(path: Path, fmt: str = "auto") -> tuple[list[Trajectory], list[Reject], InputStats]:
    stats = InputStats(str(path), sha256_file(path))
    items = list(read_file(path, fmt, stats))
    return ([t for t in items if isinstance(t, Trajectory)], [r for r in items if isinstance(r, Reject)], stats)


@pytest.fixture(scope="module")
def parsed() -> dict[str, Trajectory]:
    trajs, rejects, stats = read_all(FIXTURES / "agentinstruct_domains.json")
    assert stats.format == "agentinstruct" and not rejects
    return {t.id: t for t in trajs}


def calls(t: Trajectory) -> list[tuple[str, dict]]:
    return [(c.name, c.arguments) for _, c in t.calls()]


def test_os_bash_answer_finish(parsed: dict[str, Trajectory]) -> None:
    t = parsed["os_1"]
    assert t.metadata == {"format": "agentinstruct", "domain": "os", "tools_synthesized": ["bash"],
                          "environment_actions": True}
    assert [tool.name for tool in t.tools] == ["bash"]
    assert calls(t) == [("bash", {"script": "ls /tmp | wc -l"}), ("bash", {"script": "touch /tmp/x"})]
    first = t.messages[1]
    assert first.parts[0].text == "I list the files first." and first.parts[0].capability == "reasoning"
    assert t.messages[2].role == "tool" and t.messages[2].content == "3"
    assert t.messages[2].tool_call_id == first.tool_calls[0].id
    answer = t.messages[3]
    assert not answer.tool_calls and [p.capability for p in answer.parts] == [
        "reasoning", "instruction_following", "answer"]
    assert answer.parts[-1].text == "3"
    assert t.messages[4].role == "user"  # a new problem after an answer is the user's, not an observation
    assert t.messages[6].role == "tool" and t.messages[6].content == "\n"  # "The output of the OS:\n\n"
    assert t.messages[7].metadata["react_action"] == "finish" and t.messages[7].content == "Done."
    assert t.messages[0].metadata == {"agentinstruct": "instruction"}


def test_db_operation_and_answer(parsed: dict[str, Trajectory]) -> None:
    t = parsed["db_1"]
    assert t.messages[1].metadata == {"agentinstruct": "ack"} and t.messages[1].content == "Ok."
    assert calls(t) == [("execute_sql", {"sql": "SELECT COUNT(*) FROM T;"})]
    assert t.messages[3].content == "I count the rows of T."  # the prose before the action is kept as the thought
    assert t.messages[4].role == "tool" and t.messages[4].content == "[(7,)]"
    assert t.messages[5].parts[-1].text == '["7"]' and t.messages[5].parts[-1].capability == "answer"


def test_kg_function_calls(parsed: dict[str, Trajectory]) -> None:
    t = parsed["kg_1"]
    assert calls(t) == [("get_relations", {"variable": "Hamlet"}),
                        ("get_neighbors", {"variable": "Hamlet", "relation": "book.written_work.author"})]
    assert t.messages[4].role == "tool" and t.messages[4].content == "[book.written_work.author]"
    assert t.messages[-1].parts[-1].text == "#0"
    assert {tool.name for tool in t.tools} >= {"get_relations", "get_neighbors", "intersection", "count"}


def test_kg_arguments_split_from_the_right() -> None:
    # Entities may hold commas, relations never do.
    assert split_kg_arguments("Washington, D.C., location.location.contains", 2) == [
        "Washington, D.C.", "location.location.contains"]
    assert split_kg_arguments("#0, #1", 2) == ["#0", "#1"]
    assert split_kg_arguments("", 1) == []


def test_alfworld_commands(parsed: dict[str, Trajectory]) -> None:
    t = parsed["alfworld_1"]
    assert calls(t) == [("go_to", {"receptacle": "table 1"}),
                        ("take", {"object": "cup 1", "receptacle": "table 1"}),
                        ("go_to", {"receptacle": "shelf 1"}),
                        ("put", {"object": "cup 1", "receptacle": "shelf 1"})]
    assert t.messages[3].content == "The cup may be on the table."
    assert t.messages[5].content == ""  # ACTION only, no thought


def test_webshop_and_mind2web(parsed: dict[str, Trajectory]) -> None:
    assert calls(parsed["webshop_1"]) == [("search", {"keywords": "red mug"}), ("click", {"target": "B0001"})]
    assert calls(parsed["mind2web_1"]) == [("TYPE", {"element": "C", "value": "cats"})]
    choice = parsed["mind2web_2"].messages[-1]
    assert not choice.tool_calls and choice.parts[-1].text == "A"


def test_render_gives_each_domain_its_source_text_back(parsed: dict[str, Trajectory]) -> None:
    source = {r["id"]: r for r in json.loads((FIXTURES / "agentinstruct_domains.json").read_text())}
    for record_id, traj in parsed.items():
        rendered = render_react(traj)
        assert [m.role for m in rendered.messages] == [c["role"] for c in source[record_id]["conversations"]]
        assert [m.content for m in rendered.messages] == [c["content"] for c in source[record_id]["conversations"]]
        assert not any(m.tool_calls for m in rendered.messages)


def test_rendered_parts_are_labelled(parsed: dict[str, Trajectory]) -> None:
    rendered = render_react(parsed["os_1"])
    step = rendered.messages[1]
    labelled = [(p.capability, p.text) for p in step.parts]
    assert labelled == [("instruction_following", "Think: "), ("reasoning", "I list the files first."),
                        ("instruction_following", "\n\nAct: "), ("retrieval", "bash"),
                        ("instruction_following", "\n\n```bash\n"), ("understanding", "ls /tmp | wc -l"),
                        ("instruction_following", "\n```")]
    kg = render_react(parsed["kg_1"]).messages[5]
    assert [p.text for p in kg.parts if p.capability == "understanding"] == ["Hamlet", "book.written_work.author"]


def test_defects_are_rejected_with_reasons() -> None:
    trajs, rejects, stats = read_all(FIXTURES / "agentinstruct_defects.json", "agentinstruct")
    assert [t.id for t in trajs] == ["webshop_2"]
    assert [(r.index, r.reason) for r in rejects] == [
        (0, "unparseable_react"), (1, "unparseable_react"), (2, "unknown_domain"), (3, "missing_field"),
        (4, "wrong_type")]
    assert rejects[0].field == "conversations[1].content" and "not a os turn" in rejects[0].detail
    assert "dance with the lamp" in rejects[1].detail
    assert rejects[4].field == "conversations[0].content"
    assert stats.read == stats.accepted + stats.rejected == 6


def test_detection_claims_only_agentinstruct() -> None:
    record = json.loads((FIXTURES / "agentinstruct_domains.json").read_text())[0]
    assert formats.detect_reader(record, "x.json").name == "agentinstruct"
    toolllama = json.loads((FIXTURES / "toolllama.json").read_text())[0]
    assert formats.reader("agentinstruct").detect(toolllama, "x.json") is False
    sharegpt = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
    assert formats.reader("agentinstruct").detect(sharegpt, "x.json") is False


def test_react_output_in_domain_syntax_is_detected(parsed: dict[str, Trajectory]) -> None:
    # OS ("Act:") and ALFWorld ("ACTION:") text has no generic ReAct keyword; the instruction prompt says.
    for record_id in ("os_1", "alfworld_1"):
        written = formats.writer("react").write(parsed[record_id])
        assert formats.detect_reader(written, "out.jsonl").name == "react"
        back = next(iter(formats.reader("react").read(written, traj_ctx)))
        assert back.metadata["domain"] == parsed[record_id].metadata["domain"]


# --- real corpora ---------------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("domain", DOMAINS)
def test_real_agentinstruct(real_file, domain: str) -> None:
    path = real_file(f"agent-data-protocol/agenttuning_{domain}.sample_raw.json")
    trajs, rejects, stats = read_all(path)
    assert stats.format == "agentinstruct"
    assert not rejects, [(r.index, r.reason, r.detail) for r in rejects]
    assert stats.accepted == 5 and all(t.metadata["domain"] == domain for t in trajs)
    # Rendering reproduces every turn of the source: assistant steps in the domain's own syntax, observations
    # with their environment prefix.
    source = json.loads(path.read_text())
    total = same = 0
    for traj, record in zip(trajs, source, strict=True):
        rendered = render_react(traj).messages
        assert [m.role for m in rendered] == [c["role"] for c in record["conversations"]]
        for got, want in zip(rendered, record["conversations"], strict=True):
            total += 1
            same += got.content == want["content"]
    assert same == total
    # The react writer's output (the domain's own syntax) reads back to the same calls and observations.
    for traj in trajs:
        back = next(iter(formats.reader("react").read(formats.writer("react").write(traj), traj_ctx)))
        assert back.metadata["domain"] == domain
        assert [(c.name, c.arguments) for _, c in back.calls()] == [(c.name, c.arguments) for _, c in traj.calls()]
        assert [m.content for m in back.messages if m.role == "tool"] == [
            m.content for m in traj.messages if m.role == "tool"]


PROMPT_WORDS = ["play the role of linux", "operate a MySQL database", "get_relations(", "Interact with a household",
                "You are web shopping", "Based on the HTML webpage above", "Thought:", "Action:", "linux", "\n"]


@given(st.lists(st.sampled_from(PROMPT_WORDS) | st.text(max_size=12), max_size=6).map(" ".join))
def test_prompted_domain_answers_as_domain_of(instruction: str) -> None:
    """The lookup that readers ask of every record names the same domain `domain_of` does, and None exactly
    where `domain_of` refuses."""
    from agentflan.errors import RecordError
    from agentflan.formats.agentinstruct import domain_of, prompted_domain

    try:
        expected = domain_of(None, instruction, by_id=False)
    except RecordError:
        expected = None
    assert prompted_domain(instruction) is expected


def test_prompted_domain_finds_each_fixture_domain(parsed: dict[str, Trajectory]) -> None:
    from agentflan.formats.agentinstruct import prompted_domain

    found = {prompted_domain(t.messages[0].content).name for t in parsed.values()}  # type: ignore[union-attr]
    assert found == set(DOMAINS)
