"""ToolBench / StableToolBench answer files and ToolLLaMA conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan import formats
from agentflan.files import sha256_file
from agentflan.formats.react import render_react, split_assistant
from agentflan.pipeline.convert import convert
from agentflan.pipeline.read import InputStats, read_file
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory

FIXTURES = Path(__file__).parent / "fixtures" / "react_family"


def read_all(path: Path, fmt: str = "auto") -> tuple[list[Trajectory], list[Reject], InputStats]:
    stats = InputStats(str(path), sha256_file(path))
    items = list(read_file(path, fmt, stats))
    return ([t for t in items if isinstance(t, Trajectory)], [r for r in items if isinstance(r, Reject)], stats)


def test_answer_file_one_trajectory_per_sequence() -> None:
    trajs, rejects, stats = read_all(FIXTURES / "toolbench_answer.json")
    assert stats.format == "toolbench" and not rejects
    assert [t.id for t in trajs] == [f"react_family/toolbench_answer:train_messages[{k}]" for k in range(3)]
    assert [t.provenance.item for t in trajs] == ["train_messages[0]", "train_messages[1]", "train_messages[2]"]
    tools = {t.name: t for t in trajs[0].tools}
    # ToolBench's "STRING" normalised to JSON Schema, the original kept.
    assert tools["get_quote_for_quotes"].parameters["properties"]["topic"] == {
        "type": "string", "x-original-type": "STRING", "description": ""}
    first = trajs[0].messages[-1]
    assert first.tool_calls[0].arguments == {"topic": "love"} and first.content == "I fetch a love quote."


def test_finish_give_up_and_give_answer() -> None:
    trajs, _, _ = read_all(FIXTURES / "toolbench_answer.json")
    give_up = trajs[1].messages[-1]
    assert give_up.metadata == {"finish": "give_up_and_restart"}
    assert give_up.tool_calls[0].name == "Finish" and give_up.tool_calls[0].arguments == {
        "return_type": "give_up_and_restart"}
    full = trajs[2]
    assert [m.role for m in full.messages] == ["system", "user", "assistant", "tool", "user", "assistant", "tool",
                                               "assistant"]
    assert full.messages[3].tool_call_id == full.messages[2].tool_calls[0].id
    assert full.messages[4].metadata == {"valid": False, "dfs_recovery": True}
    final = full.messages[-1]
    assert not final.tool_calls and final.metadata == {"finish": "give_answer"}
    assert split_assistant(final) == ("I have the quote.", "Love is all.")
    assert full.metadata == {"format": "toolbench", "sequence": 2, "sequences": 3, "finish_type": "give_answer"}


def test_bad_sequences_are_rejected_and_the_others_kept() -> None:
    trajs, rejects, stats = read_all(FIXTURES / "toolbench_defects.json")
    assert [t.provenance.item for t in trajs] == ["train_messages[2]"]
    assert [(r.item, r.reason) for r in rejects] == [("train_messages[0]", "args_not_json"),
                                                     ("train_messages[1]", "missing_field")]
    assert rejects[0].field == "answer_generation.train_messages[0][2].function_call.arguments"
    assert stats.read == 3 == stats.accepted + stats.rejected


def test_failed_search_is_rejected() -> None:
    trajs, rejects, _ = read_all(FIXTURES / "toolbench_failed.json", "toolbench")
    assert not trajs and [r.reason for r in rejects] == ["no_train_messages"]
    assert "valid_data=False" in rejects[0].detail


def test_toolllama_conversations() -> None:
    trajs, rejects, stats = read_all(FIXTURES / "toolllama.json")
    assert stats.format == "toolbench" and not rejects
    t = trajs[0]
    assert t.id == "Step 4: Give me a quote about love." and t.metadata == {"format": "toolllama"}
    assert [tool.name for tool in t.tools] == ["get_quote_for_quotes", "Finish"]
    assert [(c.name, c.arguments) for _, c in t.calls()] == [("get_quote_for_quotes", {"topic": "love"})]
    assert t.messages[3].role == "tool" and t.messages[3].tool_call_id == t.messages[2].tool_calls[0].id
    assert split_assistant(t.messages[-1]) == ("I have the quote.", "Love is all.")


def test_toolllama_bad_api_list_and_turns() -> None:
    read = formats.reader("toolbench").read
    ctx = formats.RecordContext(path="t.json", index=0, format="toolbench")
    record = json.loads((FIXTURES / "toolllama.json").read_text())[0]
    broken = json.loads(json.dumps(record))
    broken["conversations"][0]["value"] += " trailing garbage ["
    with pytest.raises(formats.base.RecordError) as exc:
        list(read(broken, ctx))
    assert exc.value.reason == "unparseable_tools"
    unparseable = json.loads(json.dumps(record))
    unparseable["conversations"][2]["value"] = "I will call the quote API now."
    with pytest.raises(formats.base.RecordError) as exc:
        list(read(unparseable, ctx))
    assert exc.value.reason == "unparseable_react" and exc.value.field == "conversations[2].value"
    wrong = json.loads(json.dumps(record))
    wrong["conversations"][1]["value"] = None
    with pytest.raises(formats.base.RecordError) as exc:
        list(read(wrong, ctx))
    assert exc.value.reason == "wrong_type"


def test_detection_separates_the_conversation_formats() -> None:
    toolllama = json.loads((FIXTURES / "toolllama.json").read_text())[0]
    assert formats.detect_reader(toolllama, "x.json").name == "toolbench"
    sharegpt = {"conversations": [{"from": "human", "value": "hi"}, {"from": "function_call", "value": "{}"}]}
    assert formats.reader("toolbench").detect(sharegpt, "x.json") is False
    agentinstruct = json.loads((FIXTURES / "agentinstruct_domains.json").read_text())[0]
    assert formats.reader("toolbench").detect(agentinstruct, "x.json") is False


def test_render_react_of_a_toolbench_sequence() -> None:
    trajs, _, _ = read_all(FIXTURES / "toolbench_answer.json")
    r = render_react(trajs[2])
    assert r.messages[0].role == "system" and r.messages[0].content.startswith("You are AutoGPT")
    assert r.messages[2].content == ('Thought: I fetch a love quote.\nAction: get_quote_for_quotes\n'
                                     'Action Input: {"topic": "love"}')
    assert r.messages[-1].content == "Thought: I have the quote.\nFinal Answer: Love is all."


# --- real corpora ---------------------------------------------------------------------------------------------

# Answer files whose search failed (valid_data false): they hold no training sequence at all.
NO_SEQUENCE = {"G1_answer/69_ChatGPT_DFS_woFilter_w2.json", "G3_answer/8_ChatGPT_DFS_woFilter_w2.json",
               "G1_instruction/588_CoT@1.json"}


@pytest.mark.integration
@pytest.mark.parametrize("folder,sequences,files", [("ToolBench/data_example/answer", 52, 15),
                                                    ("StableToolBench/data_example/answer", 22, 6)])
def test_real_answer_files(real_file, tmp_path: Path, folder: str, sequences: int, files: int) -> None:
    result = convert([real_file(folder)], "auto", "canonical", tmp_path / "out.jsonl", show_progress=False)
    manifest = result.manifest
    assert {i["format"] for i in manifest["inputs"]} == {"toolbench"} and len(manifest["inputs"]) == files
    # Every training sequence is read; the only rejects are the failed searches that hold none.
    assert manifest["written"] == sequences
    rejects = [json.loads(line) for line in result.rejects.read_text().splitlines()]
    assert all(r["reason"] == "no_train_messages" for r in rejects)
    assert {"/".join(Path(r["source"]).parts[-2:]) for r in rejects} <= NO_SEQUENCE
    for r in rejects:
        generation = json.loads(Path(r["source"]).read_text())["answer_generation"]
        assert str(generation["valid_data"]) == "False" and not generation.get("train_messages")
    trajs = [Trajectory.from_dict(json.loads(line)) for line in result.output.read_text().splitlines()]
    assert len({t.id for t in trajs}) == len(trajs)
    finals = [m for t in trajs for m in t.messages if m.metadata.get("finish") == "give_answer"]
    assert finals and all(split_assistant(m)[1] for m in finals)


@pytest.mark.integration
def test_real_toolllama(real_file) -> None:
    trajs, rejects, stats = read_all(real_file("ToolBench/toolllama_processed_G1_demo_DFS_woFilter_w2.json"))
    assert stats.format == "toolbench" and not rejects and len(trajs) == 4
    assert all(len(t.tools) == 4 and t.tools[-1].name == "Finish" for t in trajs)
    assert not any(f.code == "unknown_tool" for t in trajs for f in t.flags)
