"""If `build` can teach it, `eval` can read it: every registered writer, and every chat template the training
tests render with, writes an assistant turn with calls that the reply parser reads back as the same calls.

The writers are enumerated from the registry, so a writer added later must declare the call syntax of its
assistant turns (`Writer.call_syntax`) and pass this round trip; the templates are collected from the training
tests' source, so a template added there is covered too."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan import formats
from agentflan.calls import NAMES, parse_reply
from agentflan.construct.align import render_chat
from agentflan.errors import RecordError
from agentflan.evaluate.classify import tool_schemas
from agentflan.schema import Message, ToolCall, Trajectory
from strategies import arguments_for, tools_lists

TESTS = Path(__file__).resolve().parents[1]
PROSE = st.text(st.sampled_from(list("abcdefghijklmnopqrstuvwxyz   .,")), min_size=1, max_size=40).filter(
    lambda s: s.strip() != "")
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def call_trajectories(draw: st.DrawFn) -> Trajectory:
    """A user turn and an assistant turn with 1-3 calls to offered tools (a thought in prose, or none)."""
    tools = draw(tools_lists(min_size=1, max_size=3))
    chosen = draw(st.lists(st.sampled_from(tools), min_size=1, max_size=3))
    calls = [ToolCall(id=f"call_{i}", name=t.name, arguments=draw(arguments_for(t.parameters)))
             for i, t in enumerate(chosen)]
    thought = draw(st.one_of(st.just(""), PROSE))
    return Trajectory(id="rt", tools=tools, messages=[Message(role="user", content=draw(PROSE)),
                                                      Message(role="assistant", content=thought, tool_calls=calls)])


def expected_calls(traj: Trajectory) -> list[dict[str, Any]]:
    return [{"name": c.name, "arguments": c.arguments} for _, c in traj.calls()]


def assistant_turns(record: dict[str, Any]) -> list[Any]:
    """The assistant turns after the last user turn of a written record, whatever its layout; xLAM rows keep
    the reply in ``answers``. A writer with a layout not handled here fails the test."""
    if "answers" in record:
        return [record["answers"]]
    key = next((k for k in ("messages", "conversation", "conversations") if isinstance(record.get(k), list)), None)
    assert key is not None, f"no turns in a record with keys {sorted(record)}: teach assistant_turns its layout"
    turns = record[key]
    roles = [t.get("role", t.get("from")) for t in turns]
    last_user = max(i for i, r in enumerate(roles) if r in ("user", "human"))
    replies = [t for t, r in zip(turns[last_user + 1:], roles[last_user + 1:], strict=True)
               if r in ("assistant", "gpt", "function_call", "tool_call")]
    assert replies, f"no assistant turn after the last user turn in {record}"
    return replies


def _written(writer: formats.Writer, traj: Trajectory) -> tuple[dict[str, Any], Trajectory]:
    """The record ``writer`` writes for ``traj``, or for ``traj`` without its thought when the format cannot
    hold text beside calls (xLAM)."""
    try:
        return json.loads(json.dumps(writer.write(traj))), traj
    except RecordError:
        plain = traj.model_copy(update={"messages": [m if m.role != "assistant" else
                                                     m.model_copy(update={"content": "", "parts": None})
                                                     for m in traj.messages if m.role != "system"]})
        return json.loads(json.dumps(writer.write(plain))), plain


def test_every_writer_declares_a_known_call_syntax() -> None:
    for name, writer in formats.writers().items():
        declared = writer.call_syntax if isinstance(writer.call_syntax, tuple) else (writer.call_syntax,)
        assert declared and set(declared) <= set(NAMES), f"writer {name} declares call_syntax={writer.call_syntax!r}"


@pytest.mark.parametrize("name", sorted(formats.writers()))
@_SETTINGS
@given(traj=call_trajectories(), built=st.booleans(), seed=st.integers(0, 5))
def test_writer_round_trip(name: str, traj: Trajectory, built: bool, seed: int) -> None:
    writer = formats.writer(name)
    source = render_chat(traj, seed) if built else traj  # what `build` writes, or what `convert` writes
    record, written = _written(writer, source)
    turns = assistant_turns(record)
    schemas = tool_schemas([{"name": t.name, "parameters": t.parameters} for t in traj.tools])
    parsed = parse_reply(turns, schemas)
    assert parsed.malformed == [], (turns, parsed.malformed)
    assert [c.to_dict() for c in parsed.calls] == expected_calls(written)
    # Read as the syntax the writer declares; the agentflan export writes a call its text does not name
    # (no tool-naming sentence: a `convert`ed trajectory) as a JSON call block.
    named = any(p.capability == "retrieval" for m in written.messages for p in m.parts or [])
    declared = writer.call_syntax if writer.call_syntax != "agentflan" or named else "json"
    assert parsed.syntax in (declared if isinstance(declared, tuple) else (declared,))
    pinned = parse_reply(turns, schemas, syntax=parsed.syntax)
    assert [c.to_dict() for c in pinned.calls] == expected_calls(written)


# --- chat templates --------------------------------------------------------------------------------------------


def _templates_in(path: Path) -> dict[str, str]:
    """Module-level string constants of a test file that are chat templates (read with `ast`, not imported)."""
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            value = node.value.value
            if "{%" in value and "message" in value:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[f"{path.name}:{target.id}"] = value
    return found


def training_templates() -> dict[str, str]:
    from agentflan.train.tiny import CHAT_TEMPLATE

    found = {"train.tiny:CHAT_TEMPLATE": CHAT_TEMPLATE}
    for path in [*sorted((TESTS / "train").glob("*.py")), TESTS / "formats" / "test_openai_chat_template.py"]:
        found.update(_templates_in(path))
    return found


TEMPLATES = training_templates()


def test_the_training_tests_templates_are_found() -> None:
    assert {"train.tiny:CHAT_TEMPLATE", "test_train_labels.py:LLAMA2", "test_train_labels.py:LLAMA31",
            "test_openai_chat_template.py:TEMPLATE"} <= set(TEMPLATES)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from agentflan.train.config import TinyModel
    from agentflan.train.synthetic import synthetic_corpus
    from agentflan.train.tiny import train_tokenizer

    tok = train_tokenizer(synthetic_corpus(40), TinyModel(vocab_size=300))
    tok.add_special_tokens({"bos_token": "<s>"})  # Llama-style templates write bos_token
    return tok


def rendered_reply(labeller: Any, traj: Trajectory) -> str:
    """What the model is trained to write after the prompt: the rendered text after the user turn and the
    template's assistant opening, without the end-of-turn tokens."""
    text, _ = labeller.render_text(traj)
    user = next(m.content for m in reversed(traj.messages) if m.role == "user")
    reply = text[text.rindex(user) + len(user):]
    if labeller.reply_prefix and labeller.reply_prefix in reply:
        reply = reply[reply.index(labeller.reply_prefix) + len(labeller.reply_prefix):]
    for token in labeller.end_tokens:
        reply = reply.replace(token, "")
    return reply


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(traj=call_trajectories(), seed=st.integers(0, 5))
def test_chat_template_round_trip(template: str, tokenizer: Any, traj: Trajectory, seed: int) -> None:
    from agentflan.train.labels import LabelConfig, Labeller

    labeller = Labeller(copy.copy(tokenizer), LabelConfig(), chat_template=TEMPLATES[template])
    # A user turn no template writes by itself, so the reply starts right after it.
    traj.messages[0] = traj.messages[0].model_copy(update={"content": "Query 7f3a: please help."})
    built = render_chat(traj, seed)  # train renders what build wrote
    reply = rendered_reply(labeller, built)
    parsed = parse_reply(reply, tool_schemas([{"name": t.name, "parameters": t.parameters} for t in traj.tools]))
    assert parsed.malformed == [], (reply, parsed.malformed)
    assert [c.to_dict() for c in parsed.calls] == expected_calls(traj), reply
