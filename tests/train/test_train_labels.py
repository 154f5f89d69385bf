"""Token-by-token checks of the supervision mask, capability labels and weights on rendered text."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.errors import RecordError
from agentflan.schema import CAPABILITIES, Message, Part, Provenance, Tool, ToolCall, Trajectory
from agentflan.train.config import LabelConfig
from agentflan.train.labels import NONE, Labeller, LabelStats, TemplateError, carry_labels

WEATHER = Tool(name="weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})

# Llama-2 style: no tool role, no tools, no {% generation %} tags, strict user/assistant alternation.
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)


def labelled(labeller: Labeller, traj: Trajectory):
    stats = LabelStats()
    rejects: list = []
    examples = list(labeller.examples([traj], stats, rejects))
    return examples, stats, rejects


def token_table(tokenizer, traj: Trajectory, **cfg):
    """(rendered text, offsets, example) for one sample."""
    labeller = Labeller(tokenizer, LabelConfig(**cfg))
    rendered = labeller.render(traj)
    (ex,), _, _ = labelled(labeller, traj)
    offsets = tokenizer(rendered.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return rendered.text, offsets, ex


def expected_mask(text: str, offsets, spans: list[tuple[int, int]]) -> list[bool]:
    chars = np.zeros(len(text), dtype=bool)
    for s, e in spans:
        chars[s:e] = True
    return [bool(chars[s:e].any()) for s, e in offsets]


def demo(reasoning_loss: bool | None = None, name_loss: bool | None = None, answer_weight: float | None = None):
    return Trajectory(
        id="demo-1", tools=[WEATHER],
        provenance=Provenance(source="fixtures/demo.jsonl", line=7),
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="user", content="Weather in Paris?"),
            Message(role="assistant", parts=[Part(text="Checking zebra first.", capability="reasoning",
                                                  loss=reasoning_loss)],
                    tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"}, name_loss=name_loss)]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name="weather"),
            Message(role="assistant", content="Mild quokka weather.", capability="answer", weight=answer_weight),
        ],
    )


def test_mask_equals_supervised_parts_token_by_token(tiny_tokenizer):
    traj = demo()
    text, offsets, ex = token_table(tiny_tokenizer, traj, scaffolding=False)
    parts = ["Checking zebra first.", "weather", '{"city": "Paris"}', "Mild quokka weather."]
    # Each supervised text occurs in the rendering after the system prompt's tool list; find the occurrence
    # inside the assistant turns (the last ones) independently of the labeller.
    spans, start = [], text.index("<|im_start|>assistant")
    for p in parts:
        pos = text.index(p, start)
        spans.append((pos, pos + len(p)))
        start = pos + len(p)
    want = expected_mask(text, offsets, spans)
    got = [bool(c >= 0) for c in ex.capability]
    assert got == want
    assert sum(got) > 0 and not all(got)
    # Every supervised character is inside a supervised token.
    covered = np.zeros(len(text), dtype=bool)
    for (s, e), sup in zip(offsets, got, strict=True):
        if sup:
            covered[s:e] = True
    assert all(covered[s:e].all() for s, e in spans)


def test_capability_of_each_token(tiny_tokenizer):
    text, offsets, ex = token_table(tiny_tokenizer, demo(), scaffolding=False)
    by_cap: dict[str, str] = {}
    for (s, e), c in zip(offsets, ex.capability, strict=True):
        if c >= 0:
            by_cap[CAPABILITIES[c]] = by_cap.get(CAPABILITIES[c], "") + text[s:e]
    assert by_cap["reasoning"].strip() == "Checking zebra first."
    assert "weather" in by_cap["retrieval"] and "Paris" not in by_cap["retrieval"]
    assert "Paris" in by_cap["understanding"]
    assert by_cap["answer"].strip() == "Mild quokka weather."
    assert set(by_cap) == {"reasoning", "retrieval", "understanding", "answer"}


def test_loss_flags_and_weights_respected(tiny_tokenizer):
    _text, _offsets, ex = token_table(tiny_tokenizer, demo(reasoning_loss=False, name_loss=False, answer_weight=0.25),
                                    scaffolding=False)
    caps = {CAPABILITIES[c] for c in ex.capability if c >= 0}
    assert caps == {"understanding", "answer"}
    assert ex.weight is not None
    answer = CAPABILITIES.index("answer")
    assert set(ex.weight[ex.capability == answer].tolist()) == {0.25}
    assert set(ex.weight[ex.capability == CAPABILITIES.index("understanding")].tolist()) == {1.0}


def test_scaffolding_covers_call_wrapper_and_end_of_turn(tiny_tokenizer):
    text, offsets, ex = token_table(tiny_tokenizer, demo())
    tokens = [(text[s:e], c) for (s, e), c in zip(offsets, ex.capability, strict=True)]
    fmt = CAPABILITIES.index("instruction_following")
    ends = [c for t, c in tokens if t == "<|im_end|>"]
    # system, user, assistant (call), tool, assistant (answer): only the assistants' end tokens are supervised.
    assert ends == [NONE, NONE, fmt, NONE, fmt]
    wrapper = "".join(t for t, c in tokens if c == fmt)
    assert "<tool_call>" in wrapper and "</tool_call>" in wrapper
    # The turn header stays a prompt: it is what add_generation_prompt writes at inference.
    assert all(c == NONE for t, c in tokens if t in ("<|im_start|>", "assistant"))


@pytest.fixture(scope="module")
def llama_tokenizer(tiny_tokenizer):
    """The tiny tokenizer with Llama-2's <s> and </s>, for the Llama-2 template."""
    tok = copy.deepcopy(tiny_tokenizer)
    tok.add_special_tokens({"bos_token": "<s>", "eos_token": "</s>"})
    return tok


def test_template_without_tool_role_or_generation_tags(tiny_tokenizer, llama_tokenizer):
    tok = llama_tokenizer
    labeller_l2 = Labeller(tok, LabelConfig(), chat_template=LLAMA2)
    assert labeller_l2.tool_role is False and labeller_l2.generation_tags is False
    traj = Trajectory(id="obs", messages=[
        Message(role="system", content="Use tools."),
        Message(role="user", content="Weather in Paris?"),
        Message(role="assistant", content="I will look it up with weather."),
        Message(role="tool", content="sunny, 21 degrees"),
        Message(role="assistant", content="Sunny and 21 degrees."),
    ])
    rendered = labeller_l2.render(traj)
    # The observation became a user turn, as a template with no tool role expects.
    assert "[INST] sunny, 21 degrees [/INST]" in rendered.text
    (ex,), _, _ = labelled(labeller_l2, traj)
    offsets = tok(rendered.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    sup = "".join(rendered.text[s:e] for (s, e), c in zip(offsets, ex.capability, strict=True) if c >= 0)
    # Both replies and their end-of-turn token (eos) are supervised; nothing else.
    assert sup.replace(" ", "") == ("I will look it up with weather." + tok.eos_token + "Sunny and 21 degrees."
                                    + tok.eos_token).replace(" ", "")
    assert Labeller(tiny_tokenizer).tool_role is True and Labeller(tiny_tokenizer).generation_tags is True


def test_template_that_cannot_render_calls_names_template_and_sample(llama_tokenizer):
    labeller = Labeller(llama_tokenizer, LabelConfig(calls="native"), template_name="llama-2-chat",
                        chat_template=LLAMA2)
    with pytest.raises(TemplateError) as err:
        labeller.render(demo())
    assert "llama-2-chat cannot render tool calls" in str(err.value) and "demo-1" in str(err.value)
    assert "fixtures/demo.jsonl:7" in str(err.value)


def test_template_that_cannot_render_tools_names_template_and_sample(llama_tokenizer):
    labeller = Labeller(llama_tokenizer, LabelConfig(), template_name="llama-2-chat", chat_template=LLAMA2)
    with pytest.raises(RecordError) as one:
        labeller.render(demo())
    assert one.value.reason == "tools_not_rendered"
    assert "llama-2-chat cannot render tools" in one.value.detail and "demo-1" in one.value.detail
    # When no sample with tools can be shown, the template is at fault: the run stops, naming it and a sample.
    with pytest.raises(TemplateError, match=r"llama-2-chat cannot render tools .*demo-1.* does not name weather"):
        list(labeller.examples([demo()], LabelStats()))
    # When the prompt of some samples describes their tools, only the others are rejected (and counted).
    described = demo()
    described.id = "described"
    described.messages[0] = Message(role="system", content="Tools: weather (current weather in a city).")
    stats, rejects = LabelStats(), []
    assert [e.id for e in labeller.examples([demo(), described], stats, rejects)] == ["described"]
    assert stats.rejects_by_reason == {"tools_not_rendered": 1} and rejects[0].to_dict()["id"] == "demo-1"


def test_calls_written_as_text_for_a_template_without_tool_calls(llama_tokenizer):
    tok = llama_tokenizer
    labeller = Labeller(tok, LabelConfig(), chat_template=LLAMA2)
    traj = demo()
    traj.messages[0] = Message(role="system", content="Tools: weather (current weather in a city).")
    rendered = labeller.render(traj)
    assert 'Checking zebra first.\n\n```json\n{"name": "weather", "arguments": {"city": "Paris"}}\n``` </s>' in \
        rendered.text
    (ex,), _, _ = labelled(labeller, traj)
    offsets = tok(rendered.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    by_cap: dict[str, str] = {}
    for (s, e), c in zip(offsets, ex.capability, strict=True):
        if c >= 0:
            by_cap[CAPABILITIES[c]] = by_cap.get(CAPABILITIES[c], "") + rendered.text[s:e]
    assert "weather" in by_cap["retrieval"] and "Paris" in by_cap["understanding"]
    assert "```json" in by_cap["instruction_following"] and by_cap["instruction_following"].count("</s>") == 2
    assert by_cap["reasoning"].strip() == "Checking zebra first."


def test_template_exception_is_reported_with_the_sample(llama_tokenizer):
    labeller = Labeller(llama_tokenizer, LabelConfig(tool_role="tool"), template_name="strict", chat_template=LLAMA2)
    traj = Trajectory(id="two-users", messages=[Message(role="user", content="a"), Message(role="user", content="b")])
    with pytest.raises(TemplateError, match=r"strict.*two-users.*alternate"):
        labeller.render(traj)


def test_part_missing_from_rendering_is_rejected_and_counted(tiny_tokenizer):
    # A template that shortens assistant turns (as some drop past reasoning): the part cannot be found.
    template = tiny_tokenizer.chat_template.replace("{{ message.content }}{%- for call",
                                                    "{{ message.content[:3] }}{%- for call")
    assert template != tiny_tokenizer.chat_template
    labeller = Labeller(tiny_tokenizer, LabelConfig(), chat_template=template)
    good = Trajectory(id="ok", messages=[Message(role="user", content="hi"), Message(role="assistant", content="yo")])
    bad = Trajectory(id="bad", messages=[Message(role="user", content="hi"),
                                         Message(role="assistant", content="a long reply")])
    stats = LabelStats()
    rejects: list = []
    examples = list(labeller.examples([good, bad], stats, rejects))
    assert [e.id for e in examples] == ["ok"]
    assert stats.samples == 2 and stats.used == 1 and stats.rejected == 1
    assert stats.rejects_by_reason == {"span_not_found": 1}
    assert rejects[0].to_dict()["id"] == "bad" and rejects[0].field == "messages.1"


@pytest.mark.parametrize("mode", ["truncate", "drop"])
def test_overlong_samples_truncated_or_dropped_and_counted(tiny_tokenizer, mode):
    long = Trajectory(id="long", messages=[Message(role="user", content="tell me"),
                                           Message(role="assistant", content="word " * 200)])
    short = Trajectory(id="short", messages=[Message(role="user", content="hi"),
                                             Message(role="assistant", content="hello")])
    labeller = Labeller(tiny_tokenizer, LabelConfig(max_length=64, overlong=mode))
    stats = LabelStats()
    examples = list(labeller.examples([long, short], stats))
    if mode == "truncate":
        assert [len(e) <= 64 for e in examples] == [True, True] and len(examples[0]) == 64
        assert stats.truncated == 1 and stats.dropped_overlong == 0
    else:
        assert [e.id for e in examples] == ["short"]
        assert stats.dropped_overlong == 1 and stats.truncated == 0
    assert stats.samples == stats.used + stats.dropped_overlong + stats.rejected


_WORDS = st.sampled_from(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"])


@st.composite
def labelled_samples(draw):
    """Assistant turns split into parts with random loss flags; every part text is unique in the sample."""
    counter = iter(range(10_000))
    messages = [Message(role="user", content="question " + draw(_WORDS))]
    truth: list[tuple[str, bool]] = []
    for _ in range(draw(st.integers(1, 3))):
        parts = []
        for _ in range(draw(st.integers(1, 3))):
            text = f"{draw(_WORDS)}{next(counter)}x{draw(_WORDS)}. "
            loss = draw(st.sampled_from([True, False, None]))
            parts.append(Part(text=text, capability=draw(st.sampled_from(["reasoning", "answer"])), loss=loss))
            truth.append((text, loss is not False))
        messages.append(Message(role="assistant", parts=parts))
        messages.append(Message(role="user", content="more " + draw(_WORDS)))
    return Trajectory(id="h", messages=messages[:-1]), truth


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labelled_samples())
def test_property_mask_matches_parts_with_loss(tiny_tokenizer, sample):
    traj, truth = sample
    if not any(loss for _, loss in truth):
        return  # no supervised token: such a sample is rejected (tested above)
    text, offsets, ex = token_table(tiny_tokenizer, traj, scaffolding=False)
    spans, start = [], 0
    for part_text, loss in truth:
        pos = text.index(part_text, start)  # the ChatML template writes turns verbatim
        start = pos + len(part_text)
        if loss:
            spans.append((pos, start))
    # A token that straddles a supervised and an unsupervised part counts as supervised (the rule), so the
    # expectation uses any-overlap, computed here from the parts alone.
    assert [bool(c >= 0) for c in ex.capability] == expected_mask(text, offsets, spans)


def test_sample_without_supervised_parts_is_rejected_with_reason(tiny_tokenizer):
    traj = Trajectory(id="masked", provenance=Provenance(source="x.jsonl", line=3), messages=[
        Message(role="user", content="hi"), Message(role="assistant", content="hello", loss=False)])
    stats, rejects = LabelStats(), []
    assert list(Labeller(tiny_tokenizer).examples([traj], stats, rejects)) == []
    assert stats.rejects_by_reason == {"no_supervised_tokens": 1}
    row = rejects[0].to_dict()
    assert (row["id"], row["source"], row["line"], row["reason"]) == ("masked", "x.jsonl", 3, "no_supervised_tokens")


# Llama-3.1 style: tools as JSON in the first user turn, calls as {"name", "parameters"} with compact JSON,
# results in an `ipython` turn, <|eot_id|> ends a turn, no {% generation %} tags.
LLAMA31 = (
    "{{ bos_token }}{%- for message in messages %}"
    "{%- if message.role == 'user' and loop.index0 <= 1 and tools %}<|start_header_id|>user<|end_header_id|>\n\n"
    "{%- for t in tools %}{{ t | tojson }}\n\n{%- endfor %}{{ message.content }}<|eot_id|>"
    "{%- elif message.role == 'assistant' and message.tool_calls %}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n{{ message.content }}"
    "{%- for c in message.tool_calls %}{\"name\": \"{{ c.function.name }}\", \"parameters\": "
    "{{ c.function.arguments | tojson(separators=(',', ':')) }}}{%- endfor %}<|eot_id|>"
    "{%- elif message.role == 'tool' or message.role == 'ipython' %}"
    "<|start_header_id|>ipython<|end_header_id|>\n\n{{ message.content }}<|eot_id|>"
    "{%- else %}<|start_header_id|>{{ message.role }}<|end_header_id|>\n\n{{ message.content }}<|eot_id|>"
    "{%- endif %}{%- endfor %}"
)


def test_llama31_style_template_reformatting_calls(tiny_tokenizer):
    tok = copy.deepcopy(tiny_tokenizer)
    tok.add_special_tokens({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                            "additional_special_tokens": ["<|start_header_id|>", "<|end_header_id|>"]})
    labeller = Labeller(tok, LabelConfig(), chat_template=LLAMA31)
    assert labeller.tool_role and not labeller.generation_tags
    traj = demo()
    rendered = labeller.render(traj)
    assert '"parameters": {"city":"Paris"}' in rendered.text  # compact JSON: not the canonical spacing
    (ex,), stats, _ = labelled(labeller, traj)
    offsets = tok(rendered.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    by_cap: dict[str, str] = {}
    for (s, e), c in zip(offsets, ex.capability, strict=True):
        if c >= 0:
            by_cap[CAPABILITIES[c]] = by_cap.get(CAPABILITIES[c], "") + rendered.text[s:e]
    assert "Paris" in by_cap["understanding"] and "weather" in by_cap["retrieval"]
    assert by_cap["instruction_following"].count("<|eot_id|>") == 2  # both assistant turns end supervised
    tokens = [rendered.text[s:e] for s, e in offsets]
    assert tokens.count("<|eot_id|>") == 5  # system, user, assistant, ipython, assistant
    assert stats.used == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(st.sampled_from(list("ab cé中文😀°\n{}\":")), min_size=1, max_size=6),
                          st.sampled_from([NONE, 0, 1, 2]), st.sampled_from([1.0, 0.5])), min_size=1, max_size=12))
def test_carry_labels_matches_the_offset_rule(tiny_tokenizer, pieces):
    """Carrying labels run by run equals the rule stated on offsets: a token is supervised when any of its
    characters is, with the label of its first supervised character (multi-byte characters included)."""
    text = "".join(t for t, _, _ in pieces)
    runs, caps, weights, at = [], [], [], 0
    for t, c, w in pieces:
        if c >= 0:
            runs.append((at, at + len(t), c, w))
        caps += [c] * len(t)
        weights += [w if c >= 0 else 1.0] * len(t)
        at += len(t)
    enc = tiny_tokenizer.backend_tokenizer.encode(text, add_special_tokens=False)
    got_caps, got_weights = carry_labels(enc, runs)
    want_caps, want_weights = [], []
    for s, e in enc.offsets:
        sup = [i for i in range(s, e) if caps[i] >= 0]
        want_caps.append(caps[sup[0]] if sup else NONE)
        want_weights.append(weights[sup[0]] if sup else 1.0)
    assert got_caps.tolist() == want_caps
    assert got_weights.tolist() == want_weights


@pytest.mark.parametrize("tags", [True, False])
def test_short_reply_is_not_found_inside_the_turn_header(tiny_tokenizer, tags):
    """"s" occurs in "<|im_start|>assistant": the search starts after the header (generation block or prompt)."""
    template = tiny_tokenizer.chat_template
    if not tags:
        template = template.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    labeller = Labeller(tiny_tokenizer, LabelConfig(scaffolding=False), chat_template=template)
    assert labeller.reply_prefix == "<|im_start|>assistant" and labeller.generation_tags is tags
    traj = Trajectory(id="short", messages=[Message(role="user", content="Pick a letter"),
                                            Message(role="assistant", content="s")])
    rendered = labeller.render(traj)
    assert [rendered.text[s:e] for s, e, _, _ in rendered.runs] == ["s"]
    assert rendered.text[rendered.runs[0][0] - len("assistant\n"):rendered.runs[0][0]] == "assistant\n"
