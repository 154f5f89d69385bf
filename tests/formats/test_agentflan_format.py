"""The Agent-FLAN release format: reading release-shaped rows, and writing whole turns that XTuner loads as written."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.capabilities import message_spans
from agentflan.construct.align import render_chat, render_react_kind
from agentflan.formats import detect_reader, reader, writer
from agentflan.formats.agentflan import kind_hint, tools_in_prompt
from agentflan.formats.base import RecordContext
from agentflan.pipeline.read import read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory
from strategies import arguments_for, texts, tools_lists, trajectories

FIXTURES = Path(__file__).parent / "fixtures" / "fc"
CTX = RecordContext(path="rows.jsonl", index=0, format="agentflan")


def _xtuner_conversation(row: dict) -> list[dict]:
    """XTuner's openai_map_fn rule, restated for the test: system/user/assistant only, consecutive user turns
    concatenated, one output per assistant turn, supervised unless loss is false."""
    out, system, user = [], "", ""
    for msg in row["messages"]:
        assert msg["role"] in ("system", "user", "assistant")
        if msg["role"] == "system":
            system = msg["content"]
        elif msg["role"] == "user":
            user += msg["content"]
        else:
            out.append({"system": system, "input": user, "output": msg["content"],
                        "output_with_loss": str(msg.get("loss", True)).lower() == "true"})
            system = user = ""
    return out


def test_release_rows_read_with_defects_rejected() -> None:
    out = list(read_file(FIXTURES / "agentflan_rows.jsonl"))
    good = [t for t in out if isinstance(t, Trajectory)]
    assert [t.id for t in good] == ["af_0", "af_1"]
    assert [m.loss for m in good[0].messages] == [False, False, True, False, True, False, True]
    assert good[1].messages[1].loss is None and good[1].messages[1].supervised  # omitted → assistant default
    assert good[1].messages[1].metadata == {"type": "chat"}
    assert [(r.line, r.reason, r.field) for r in out if isinstance(r, Reject)] == [
        (3, "invalid_role", "conversation.1.role"), (4, "wrong_type", "conversation.0.loss"),
        (5, "missing_field", "conversation.0.content")]
    assert good[0].provenance is not None and good[0].provenance.format == "agentflan"


def _aligned() -> Trajectory:
    return Trajectory(
        id="t1",
        tools=[Tool(name="weather", description="Current weather.",
                    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})],
        messages=[
            Message(role="user", content="Weather in Paris?"),
            Message(role="assistant", parts=[Part(text="I need the weather.\n\n", capability="reasoning"),
                                             Part(text="I will use `weather`.", capability="retrieval", loss=False)],
                    tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"}, arguments_loss=True)]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name="weather"),
            Message(role="assistant", content="It is 21 °C.", capability="answer"),
        ],
    )


def test_writer_writes_whole_replies_and_describes_tools() -> None:
    row = writer("agentflan").write(_aligned())
    conv = row["messages"]
    assert row["id"] == "t1" and set(row) == {"id", "messages"}
    assert [(t["role"], t["loss"]) for t in conv] == [
        ("system", False), ("user", False), ("assistant", True), ("user", False), ("assistant", True)]
    assert "`weather`" in conv[0]["content"] and "Current weather." in conv[0]["content"]
    thought, elicit, args = conv[2]["content"].split("\n\n")
    assert (thought, elicit) == ("I need the weather.", "I will use `weather`.")
    assert json.loads(args.removeprefix("```json\n").removesuffix("\n```")) == {"city": "Paris"}
    assert conv[3]["content"] == '{"temp": 21}'
    xt = _xtuner_conversation(row)
    assert [x["output_with_loss"] for x in xt] == [True, True]
    assert xt[0]["input"] == "Weather in Paris?" and "`weather`" in xt[0]["system"]
    assert all(x["input"] for x in xt)  # no round with an empty user turn


def test_unaligned_calls_are_written_as_name_and_arguments_json() -> None:
    t = Trajectory(id="t2", messages=[
        Message(role="system", content="Be brief."),
        Message(role="user", content="2+2?"),
        Message(role="assistant", content="", tool_calls=[ToolCall(name="calc", arguments={"e": "2+2"}),
                                                          ToolCall(name="calc", arguments={"e": "1"}, name_loss=False,
                                                                   arguments_loss=False)]),
        Message(role="tool", content="4"), Message(role="tool", content="1"),
    ])
    conv = writer("agentflan").write(t)["messages"]
    assert conv[0] == {"role": "system", "content": "Be brief.", "loss": False}  # no tools: nothing added
    calls = [json.loads(c.removeprefix("```json\n").removesuffix("\n```"))
             for c in conv[2]["content"].split("\n\n")]
    assert calls == [{"name": "calc", "arguments": {"e": "2+2"}}, {"name": "calc", "arguments": {"e": "1"}}]
    assert conv[2]["loss"] is True  # supervised when any call is
    # Two results in a row are one user turn, joined with a blank line (openai_map_fn would glue them).
    assert conv[3:] == [{"role": "user", "content": "4\n\n1", "loss": False}]


def test_react_reply_is_one_turn() -> None:
    parts = [Part(text="Thought: ", capability="instruction_following"), Part(text="look", capability="reasoning"),
             Part(text="\nAction: ", capability="instruction_following"),
             Part(text="search", capability="retrieval", loss=False), Part(text="[", capability="instruction_following"),
             Part(text="Nile", capability="understanding"), Part(text="]", capability="instruction_following")]
    t = Trajectory(id="r", metadata={"rendering": "react"}, messages=[
        Message(role="user", content="Q"), Message(role="assistant", parts=parts),
        Message(role="user", content="Observation: x"), Message(role="user", content="Try again.")])
    row = writer("agentflan").write(t)
    assert detect_reader(row, "agentflan.jsonl").name == "agentflan"  # not react, whose text it holds
    conv = row["messages"]
    assert conv == [{"role": "user", "content": "Q", "loss": False},
                    {"role": "assistant", "content": "Thought: look\nAction: search[Nile]", "loss": True},
                    {"role": "user", "content": "Observation: x\n\nTry again.", "loss": False}]


@settings(max_examples=40, deadline=None)
@given(trajectories())
def test_writer_output_is_always_xtuner_ready(t: Trajectory) -> None:
    row = json.loads(json.dumps(writer("agentflan").write(t)))
    assert set(row) == {"id", "messages"}
    for turn in row["messages"]:
        assert set(turn) == {"role", "content", "loss"}
        assert turn["role"] in ("system", "user", "assistant") and isinstance(turn["loss"], bool)
    roles = [turn["role"] for turn in row["messages"]]
    assert not any(a == b != "system" for a, b in itertools.pairwise(roles))
    assert reader("agentflan").detect(row, "x.jsonl")
    _xtuner_conversation(row)


_turns = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]),
                                         "content": texts(), "loss": st.booleans()}), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.builds(lambda i, c: {"id": i, "conversation": c}, texts(min_size=1, max_size=10), _turns))
def test_release_rows_survive_read_then_write(row: dict) -> None:
    # Rows in the release's own shape (loss on every turn) come back with the same turns under `messages`,
    # once two user or two assistant turns in a row are one.
    (t,) = reader("agentflan").read(row, CTX)
    out = writer("agentflan").write(t)
    assert out["id"] == row["id"]
    roles = [turn["role"] for turn in row["conversation"]]
    if not any(a == b != "system" for a, b in itertools.pairwise(roles)):
        assert out["messages"] == row["conversation"]
    (again,) = reader("agentflan").read(out, CTX)
    assert writer("agentflan").write(again) == out


# --- reading rows as built data: calls, labels, kinds (the audit sees an export as it sees the build) ---------

RELEASE = Path(__file__).parent / "fixtures" / "agentflan_release" / "rows.jsonl"
PROSE = st.text(st.sampled_from(list("abcdefghijklmnopqrstuvwxyz   .,")), min_size=1, max_size=40).filter(
    lambda s: s.strip() != "")


def _release() -> dict[str, Trajectory]:
    out = list(read_file(RELEASE))
    assert all(isinstance(t, Trajectory) for t in out), out
    return {t.id: t for t in out}  # type: ignore[union-attr]


def _labels(m: Message) -> list[tuple[str | None, bool | None, str]]:
    return [(p.capability, p.loss, p.text) for p in m.parts or []]


def test_release_rows_in_the_agent_flan_conversation_become_calls_with_labelled_parts() -> None:
    rows = _release()
    t = rows["toolbench_tflan_60p_r10r5u7_0"]  # thought, tool-naming sentence, arguments: three turns
    assert t.metadata == {"kind": "agent", "rendering": "chat"} and t.tool_names() == {"weather_for_city"}
    assert t.tools[0].parameters["required"] == ["city"]
    assert [m.role for m in t.messages] == ["system", "user", "assistant", "tool", "assistant"]
    reply = t.messages[2]
    assert _labels(reply) == [("reasoning", True, "To answer I need the current weather in Lisbon.\n\n"),
                              ("retrieval", False, "The right tool here is `weather_for_city`.")]
    (call,) = reply.tool_calls
    # Each turn's loss is kept: the tool choice masked, its arguments supervised.
    assert (call.name, call.arguments, call.name_loss, call.arguments_loss) == (
        "weather_for_city", {"city": "Lisbon"}, False, True)
    assert t.messages[3].tool_call_id == call.id and t.messages[3].name == "weather_for_city"

    t = rows["toolbench_tflan_cot_30p_3"]  # one turn; the tool named in the model's own words; no `loss`
    reply = t.messages[2]
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("search_books", {"query": "bees", "limit": 2})]
    assert _labels(reply) == [("reasoning", None, "The user wants books about bees, at most two.\n"),
                              ("retrieval", None, "I will search the catalogue with `search_books`.")]
    assert reply.supervised and t.messages[3].role == "tool"


def test_release_react_instruct_and_negative_rows() -> None:
    rows = _release()
    t = rows["toolbench_react_10p_7"]
    assert t.metadata == {"kind": "react", "rendering": "react", "react_style": "json"}
    assert not t.calls()  # as the build's ReAct records: the calls stay in the text, labelled
    assert [(c, p) for c, _, p in _labels(t.messages[2])] == [
        ("instruction_following", "Thought: "), ("reasoning", "I need the latest price of AAPL."),
        ("instruction_following", "\nAction: "), ("retrieval", "stock_price"),
        ("instruction_following", '\nAction Input: {"symbol": '), ("understanding", '"AAPL"'),
        ("instruction_following", "}")]
    assert t.messages[3].metadata == {"observation": True}
    assert [c for c, _, _ in _labels(t.messages[4])] == ["instruction_following", "reasoning",
                                                         "instruction_following", "answer"]

    t = rows["toolbench_instruct_j1s1_3k_2"]  # the call in the asked format: all of it format
    assert t.metadata == {"kind": "instruct"} and t.tool_names() == {"convert_currency"}
    assert [c for c, _, _ in _labels(t.messages[-1])] == ["instruction_following"]

    assert rows["toolbench_negative_0"].metadata == {"kind": "negative", "negative": "no_tools_needs_tool"}
    assert rows["toolbench_negative_1"].metadata == {"kind": "negative", "negative": "irrelevant_tools_needs_tool"}
    assert rows["toolbench_negative_1"].tool_names() == {"stock_price"}


def test_kind_comes_from_the_build_ids_then_the_release_names() -> None:
    assert kind_hint("negative/missing_argument/api-bank/x:0", "agentflan.jsonl") == ("negative", "missing_argument")
    assert kind_hint("instruct/tooltalk/y:0", "agentflan.jsonl") == ("instruct", None)
    assert kind_hint("toolbench_tflan_cot_30p_12", "rows.jsonl") == ("agent", None)
    assert kind_hint("agent_instruct_react_3", "rows.jsonl") == ("react", None)
    assert kind_hint("n0", "data/toolbench_negative.jsonl") == ("negative", None)
    assert kind_hint("a1", "toolbench_react_10p_unfiltered.jsonl") == ("react", None)
    assert kind_hint("a1", "toolbench_instruct_j1s1_3k.jsonl") == ("instruct", None)
    assert kind_hint("a1", "agent_instruct_tflan.jsonl") == ("agent", None)  # AgentInstruct, not `instruct`
    assert kind_hint("fireact-multitask/multitask:3", "agentflan.jsonl") == (None, None)
    assert kind_hint("negative-results/3", "agentflan.jsonl") == (None, None)


def test_rows_without_a_hint_are_told_by_their_content() -> None:
    def read_one(turns: list[dict]) -> Trajectory:
        (t,) = reader("agentflan").read({"id": "r", "conversation": turns}, CTX)
        return t

    general = read_one([{"role": "user", "content": "Name a prime.", "loss": False},
                        {"role": "assistant", "content": "7.", "loss": True}])
    assert general.metadata == {"kind": "general"}
    tools = "Tools:\n- `clock`: The time. It takes no arguments."
    declined = read_one([{"role": "system", "content": tools}, {"role": "user", "content": "Hi"},
                         {"role": "assistant", "content": "Hello!"}])
    assert declined.metadata == {"kind": "agent", "rendering": "chat"} and not declined.calls()
    # A tool named, its input written as text (an action the source kept as text): labelled, no call.
    action = read_one([{"role": "system", "content": tools}, {"role": "user", "content": "List files."},
                       {"role": "assistant", "content": "I should list them.\n\nThis calls for `ls`.\n-la"}])
    assert [c for c, _, _ in _labels(action.messages[-1])] == ["reasoning", "retrieval", "understanding"]
    assert not action.calls()
    # A call in another syntax stays text (the audit still reads it); so do JSON objects that are not calls.
    hermes = read_one([{"role": "system", "content": tools}, {"role": "user", "content": "Time?"},
                       {"role": "assistant", "content": '<tool_call>{"name": "clock", "arguments": {}}</tool_call>'},
                       {"role": "user", "content": "12:00"}, {"role": "assistant", "content": '{"time": "12:00"}'}])
    assert not hermes.calls() and [m.role for m in hermes.messages] == ["system", "user", "assistant", "user",
                                                                       "assistant"]


@settings(max_examples=60, deadline=None)
@given(tools_lists(min_size=1, max_size=4), st.integers(0, 3))
def test_tools_described_in_the_prompt_are_read_back(tools: list[Tool], seed: int) -> None:
    from agentflan.construct.align import tools_prompt

    got = {t.name: t.parameters for t in tools_in_prompt(tools_prompt(tools, seed, "k"))}
    assert list(got) == [t.name for t in tools]
    for tool in tools:
        props = tool.parameters.get("properties") or {}
        assert list(got[tool.name]["properties"]) == list(props)
        assert set(got[tool.name].get("required") or []) == set(tool.parameters.get("required") or [])
        for name, schema in props.items():
            assert got[tool.name]["properties"][name].get("type") == schema.get("type"), (name, schema)


@st.composite
def _conversations(draw: st.DrawFn, react_answer: bool = True) -> Trajectory:
    """A conversation with 1-3 steps of 1-2 calls each (a thought in prose or none), tool results, then an
    answer, sometimes written as ReAct ``Thought:``/``Final Answer:`` (its thought becomes a reasoning part)."""
    tools = draw(tools_lists(min_size=1, max_size=3))
    messages = [Message(role="user", content=draw(PROSE))]
    for step in range(draw(st.integers(1, 3))):
        chosen = draw(st.lists(st.sampled_from(tools), min_size=1, max_size=2))
        calls = [ToolCall(id=f"c{step}_{i}", name=t.name, arguments=draw(arguments_for(t.parameters)))
                 for i, t in enumerate(chosen)]
        messages.append(Message(role="assistant", content=draw(st.one_of(st.just(""), PROSE)), tool_calls=calls))
        messages += [Message(role="tool", content=draw(PROSE), tool_call_id=c.id, name=c.name) for c in calls]
    answer = draw(PROSE)
    if react_answer and draw(st.booleans()):
        answer = f"Thought: {draw(PROSE)}\nFinal Answer: {answer}"
    messages.append(Message(role="assistant", content=answer))
    return Trajectory(id="rt", tools=tools, messages=messages)


def _masked(built: Trajectory, data: st.DataObject) -> Trajectory:
    """Balancing's masks, drawn at random: a tool choice or arguments left out of the loss."""
    messages = []
    for m in built.messages:
        if m.role == "assistant" and m.tool_calls:
            parts = [p.model_copy(update={"loss": False}) if p.capability == "retrieval" and data.draw(st.booleans())
                     else p for p in m.parts or []]
            calls = [c.model_copy(update={"arguments_loss": False}) if data.draw(st.booleans()) else c
                     for c in m.tool_calls]
            m = Message.model_validate({**m.model_dump(exclude={"parts", "tool_calls"}),
                                        "parts": [p.model_dump() for p in parts] or None,
                                        "tool_calls": [c.model_dump() for c in calls]})
        messages.append(m)
    return built.model_copy(update={"messages": messages})


def _capabilities(t: Trajectory) -> list[list[tuple[str, str]]]:
    """Per assistant message, its labelled text and calls as `capabilities.spans` gives them (masks aside),
    adjacent pieces of one label joined. A reply without calls is one turn of one label in the release
    layout: its thought (a reasoning part) is read back as part of the answer."""
    out = []
    for i, m in enumerate(t.messages):
        if m.role != "assistant":
            continue
        pieces: list[tuple[str, str]] = []
        for s in message_spans(t, i, supervised_only=False):
            cap = "answer" if s.capability == "reasoning" and not m.tool_calls else s.capability
            if pieces and pieces[-1][0] == cap:
                pieces[-1] = (cap, pieces[-1][1] + s.text)
            else:
                pieces.append((cap, s.text))
        out.append(pieces)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_conversations(), st.integers(0, 5), st.data())
def test_a_built_conversation_reads_back_with_its_calls_and_capabilities(t: Trajectory, seed: int,
                                                                        data: st.DataObject) -> None:
    # canonical chat record → agentflan writer → agentflan reader: the same tools, calls and labels. What the
    # layout cannot hold: a mask on one part of a turn (the turn's one `loss` is on when any part is), a final
    # reply's split into thought and answer, call ids, and enum values of the tools' parameters.
    built = _masked(render_chat(t, seed), data)
    row = json.loads(json.dumps(writer("agentflan").write(built)))
    (back,) = reader("agentflan").read(row, CTX)
    assert back.metadata == {"kind": "agent", "rendering": "chat"}
    assert back.tool_names() == built.tool_names()
    assert [(c.name, c.arguments) for _, c in back.calls()] == [(c.name, c.arguments) for _, c in built.calls()]
    assert _capabilities(back) == _capabilities(built)
    for was, now in zip([m for m in built.messages if m.role == "assistant"],
                        [m for m in back.messages if m.role == "assistant"], strict=True):
        trained = any(s.loss for s in message_spans(built, built.messages.index(was), supervised_only=False))
        assert all(s.loss == trained for s in message_spans(back, back.messages.index(now),
                                                            supervised_only=False))
    # Tool results answer the calls before them.
    for i, m in enumerate(back.messages):
        if m.role == "tool":
            assert back.messages[i - 1].tool_calls and m.tool_call_id == back.messages[i - 1].tool_calls[0].id
    assert writer("agentflan").write(back) == row  # and it writes the same row again


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_conversations(react_answer=False))
def test_a_built_react_record_reads_back_with_its_labels(t: Trajectory) -> None:
    built = render_react_kind(t)
    row = json.loads(json.dumps(writer("agentflan").write(built)))
    (back,) = reader("agentflan").read(row, CTX)
    assert back.kind == "react" and not back.calls() and not built.calls()
    assert [_labels_only(m) for m in back.messages if m.role == "assistant"] == [
        _labels_only(m) for m in built.messages if m.role == "assistant"]
    observations = [m.content for m in back.messages if m.metadata.get("observation")]
    assert observations == [m.content for m in built.messages if m.metadata.get("observation")]


def _labels_only(m: Message) -> list[tuple[str | None, str]]:
    return [(p.capability, p.text) for p in m.parts or []]
