"""Prompts that prescribe a reply format: detection (shared with the audit) and cleaning (chat alignment)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.construct import prompts
from agentflan.pipeline.read import InputStats, read_file
from agentflan.schema import Message, Tool, ToolCall, Trajectory

REACT_MANUAL = ("You are web shopping.\nI will give you instructions about what to do.\n"
                "An action should be of the following structure:\nsearch[keywords]\nclick[value]\n"
                "If the action is not valid, perform nothing.\nYour response should use the following format:\n\n"
                "Thought:\nI think ... \n\nAction: \nclick[something]")
AUTOGPT = ("You are AutoGPT, you can use many tools(functions) to do the following task.\nRemember:\n"
           "1.ALWAYS call \"Finish\" function at the end of the task, or use function Finish->give_up_and_restart.\n"
           "You have access of the following tools:\n1.pack_send: Logistics and Shipment Services\n"
           "2.cep_brazil: Brazilian postcodes\n")
RETRY = ("This is not the first time you try this task, all previous trails failed.\nHere are some previous actions "
         "candidates:\n[{\"name\": \"search\", \"arguments\": \"{\\\"q\\\": \\\"x\\\"}\"}]")


def test_requests_are_found_by_kind() -> None:
    assert prompts.requests(REACT_MANUAL) == {"react"}
    assert prompts.requests(AUTOGPT) == {"function_rules"}
    assert prompts.requests(RETRY) == {"quoted_calls"}
    assert prompts.requests("Please respond in JSON with the fields name and age.") == {"json"}
    assert prompts.requests('Once you are done, respond with \'Final Answer: #id\'.') == {"react"}
    # not requests: a tool that returns JSON, a question mentioning an act, plain text
    assert prompts.requests("Returns the latest matches in JSON format.") == set()
    assert prompts.requests("What did the Clean Air Act: Title IV change?") == set()
    assert prompts.requests("What is the weather in Oslo?") == set()


def test_react_manual_keeps_the_task_and_drops_the_template() -> None:
    rewrites: Counter[str] = Counter()
    out = prompts.clean(REACT_MANUAL, "user", rewrites)
    assert out == ("You are web shopping.\nI will give you instructions about what to do.\n"
                   "If the action is not valid, perform nothing.")
    assert rewrites == {"user:format_instructions": 1}


def test_autogpt_prompt_becomes_the_list_of_services() -> None:
    rewrites: Counter[str] = Counter()
    out = prompts.clean(AUTOGPT, "system", rewrites)
    assert out == ("The tools belong to these services:\n- pack_send: Logistics and Shipment Services\n"
                   "- cep_brazil: Brazilian postcodes")
    assert rewrites == {"system:autogpt_prompt": 1} and prompts.requests(out) == set()


def test_retry_prompt_is_dropped_and_begin_is_stripped() -> None:
    rewrites: Counter[str] = Counter()
    assert prompts.clean(RETRY, "user", rewrites) == ""
    assert prompts.clean("\nFind flights to Oslo.\nBegin!\n", "user", rewrites) == "Find flights to Oslo."
    assert rewrites == {"user:retry_prompt": 1, "user:begin_marker": 1}


def test_a_plain_prompt_is_left_alone() -> None:
    rewrites: Counter[str] = Counter()
    text = "The user lives in Oslo. Answer briefly.\n\n1. Be polite.\n2. Use metric units."
    assert prompts.clean(text, "system", rewrites) == text and not rewrites


def test_terminal_tool_is_dropped_unless_called() -> None:
    finish, other = Tool(name="Finish"), Tool(name="weather")
    rewrites: Counter[str] = Counter()
    assert prompts.clean_tools([other, finish], ["weather"], rewrites) == [other]
    assert prompts.clean_tools([other, finish], ["Finish"], rewrites) == [other, finish]
    assert rewrites == {"tools:terminal_tool": 1}


def _with_prompt(prompt: str, reply: Message, kind: str | None = None) -> Trajectory:
    return Trajectory(id="t", messages=[Message(role="system", content=prompt), Message(role="user", content="hi"),
                                        reply], metadata={"kind": kind} if kind else {})


def test_mismatch_is_a_request_no_reply_follows() -> None:
    react_reply = Message(role="assistant", content="Thought: look.\nAction: search[x]")
    plain_reply = Message(role="assistant", content="I looked it up.")
    assert prompts.mismatches(_with_prompt(REACT_MANUAL, react_reply)) == []
    assert prompts.mismatches(_with_prompt(REACT_MANUAL, plain_reply, "agent")) == [(0, "react")]
    json_reply = Message(role="assistant", content='{"name": "Ann"}')
    assert prompts.mismatches(_with_prompt("Respond in JSON only.", json_reply, "instruct")) == []
    # AutoGPT's Finish rules: a source record whose answer the reader turned from a Finish call uses them; a
    # built conversation answering in plain text does not.
    finished = Message(role="assistant", content="Here you go.", metadata={"finish": "give_answer"})
    assert prompts.mismatches(_with_prompt(AUTOGPT, finished)) == []
    assert prompts.mismatches(_with_prompt(AUTOGPT, finished, "agent")) == [(0, "function_rules")]
    called = Message(role="assistant", tool_calls=[ToolCall(name="Finish", arguments={"return_type": "x"})])
    assert prompts.mismatches(_with_prompt(AUTOGPT, called, "agent")) == []
    # no reply at all (an evaluation question): nothing is contradicted
    assert prompts.mismatches(Trajectory(id="q", messages=[Message(role="user", content=REACT_MANUAL)])) == []


FRAGMENTS = [
    "Interact with a household to solve a task.", 'Your output must follow this format:"THOUGHT: your thoughts.',
    " ACTION: your next action", '"; If you choose "ACTION", act directly.', "Thought:", "I think ...", "Act: bash",
    "```bash\n# put your bash code here\n```", "Please respond in JSON.", "click[value]", "Final Answer: #3",
    "You can take at most 15 actions.", "1. If you think so, print like this:", "Every round I will execute it.",
    "Use function Finish->give_up_and_restart.", "Here are some previous actions candidates: [x]", "Begin!", "",
]


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12), st.sampled_from(["system", "user"]))
def test_cleaned_prompts_ask_for_no_format_and_clean_again_to_themselves(parts: list[str], role: str) -> None:
    text = "\n".join(parts)
    once = prompts.clean(text, role, Counter())
    assert prompts.requests(once) == set(), once
    assert prompts.clean(once, role, Counter()) == once
    kept = {"Interact with a household to solve a task.", "You can take at most 15 actions.",
            "Every round I will execute it."}
    for sentence in kept & set(parts):
        if role == "system" or not prompts.RETRY_PROMPT.search(text):
            assert sentence in once, (sentence, once)


@pytest.mark.integration
def test_every_real_manual_is_cleaned_and_keeps_its_task(real_data: Path) -> None:
    """AgentInstruct's six environment manuals and ToolBench's prompts, as the readers give them."""
    files = sorted((real_data / "agent-data-protocol").glob("agenttuning_*.sample_raw.json"))
    files += [real_data / "ToolBench/toolllama_processed_G1_demo_DFS_woFilter_w2.json",
              *sorted((real_data / "ToolBench/data_example/answer").rglob("*.json"))[:10]]
    seen = 0
    for path in files:
        for rec in read_file(path, "auto", InputStats(str(path), "-")):
            if not isinstance(rec, Trajectory):
                continue
            for msg in rec.messages:
                if msg.role not in ("system", "user"):
                    continue
                rewrites: Counter[str] = Counter()
                out = prompts.clean(msg.content, msg.role, rewrites)
                assert prompts.requests(out) == set(), (rec.id, out[:300])
                if prompts.requests(msg.content) and msg.role == "user" and not prompts.RETRY_PROMPT.search(
                        msg.content):
                    seen += 1
                    assert rewrites and len(out) > 0.2 * len(msg.content), (rec.id, out)
    assert seen >= 25  # the AgentInstruct manuals (and ToolBench retry-free user turns) were really exercised
