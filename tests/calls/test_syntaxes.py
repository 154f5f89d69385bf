"""Every call syntax on a real-looking reply, and a truncated variant of it that must come out `malformed`."""

from __future__ import annotations

import json

import pytest

from agentflan.calls import NAMES, SYNTAXES, parse_reply
from agentflan.evaluate.classify import classify, tool_schemas
from tool_naming import tool_naming

WEATHER = {"name": "get_current_weather", "description": "Current weather at a place.",
           "parameters": {"type": "object", "properties": {
               "location": {"type": "string", "description": "City and country"},
               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
               "days": {"type": "integer"}}, "required": ["location"]}}
SEARCH = {"name": "search", "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                                           "required": ["query"]}}
TOOLS = [WEATHER, SEARCH]
PARIS = {"location": "Paris, France", "unit": "celsius"}
CALL = [{"name": "get_current_weather", "arguments": PARIS}]
ARGS = json.dumps(PARIS)

# (syntax, reply as the model or corpus writes it, expected calls)
EXAMPLES: list[tuple[str, object, list[dict]]] = [
    ("openai", {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_8sJ2", "type": "function", "function": {"name": "get_current_weather", "arguments": ARGS}}]},
     CALL),
    ("openai", {"role": "assistant", "content": "", "function_call": {"name": "get_current_weather",
                                                                     "arguments": ARGS}}, CALL),
    ("hermes", f"<tool_call>\n{json.dumps(CALL[0])}\n</tool_call>", CALL),
    ("hermes", "Let me look that up.\n<tool_call>\n" + json.dumps(CALL[0]) + "\n</tool_call>\n<tool_call>\n"
     + json.dumps({"name": "search", "arguments": {"query": "Paris events"}}) + "\n</tool_call>",
     [*CALL, {"name": "search", "arguments": {"query": "Paris events"}}]),
    ("qwen3_xml", "I'll check the current weather.\n<tool_call>\n<function=get_current_weather>\n"
     "<parameter=location>\nParis, France\n</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n"
     "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
     [{"name": "get_current_weather", "arguments": {**PARIS, "days": 3}}]),
    ("llama3_function", f"<function=get_current_weather>{ARGS}</function><|eom_id|>", CALL),
    ("llama3", '<|python_tag|>{"name": "get_current_weather", "parameters": ' + ARGS + "}<|eom_id|>", CALL),
    ("llama3", '<|python_tag|>{"name": "get_current_weather", "parameters": ' + ARGS + '}; {"name": "search", '
     '"parameters": {"query": "Paris"}}', [*CALL, {"name": "search", "arguments": {"query": "Paris"}}]),
    ("llama3", '<|python_tag|>brave_search.call(query="weather in Paris")',
     [{"name": "brave_search", "arguments": {"query": "weather in Paris"}}]),
    ("mistral", '[TOOL_CALLS] [{"name": "get_current_weather", "arguments": ' + ARGS + ', "id": "ZRpKw1jQ9"}]',
     CALL),
    ("mistral", f"[TOOL_CALLS]get_current_weather[ARGS]{ARGS}", CALL),
    ("mistral", f"[TOOL_CALLS]get_current_weather[CALL_ID]a1b2c3d4e[ARGS]{ARGS}</s>", CALL),
    ("deepseek", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_current_weather\n```json\n"
     + ARGS + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>", CALL),
    ("deepseek", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_current_weather<｜tool▁sep｜>" + ARGS
     + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>", CALL),
    ("internlm2", "I need the weather first.<|action_start|><|plugin|>\n"
     '{"name": "get_current_weather", "parameters": ' + ARGS + "}<|action_end|>\n", CALL),
    ("granite", '<|tool_call|>[{"arguments": ' + ARGS + ', "name": "get_current_weather"}]', CALL),
    ("phi", 'functools[{"name": "get_current_weather", "arguments": ' + ARGS + "}]", CALL),
    ("gemma4", '<|tool_call>call:get_current_weather{location:<|"|>Paris, France<|"|>,unit:<|"|>celsius<|"|>}'
     "<tool_call|>", CALL),
    ("functiongemma", "<start_function_call>call:get_current_weather{location:<escape>Paris, France<escape>,"
     "unit:<escape>celsius<escape>}<end_function_call>", CALL),
    ("gemma_tool_code", '```tool_code\nprint(get_current_weather(location="Paris, France", unit="celsius"))\n```',
     CALL),
    ("gorilla", '<<function>>get_current_weather(location="Paris, France", unit="celsius")', CALL),
    ("glaive", "<functioncall> {\"name\": \"get_current_weather\", \"arguments\": '" + ARGS + "'} <|endoftext|>",
     CALL),
    ("apibank", "API-Request: [get_current_weather(location='Paris, France', unit='celsius')]", CALL),
    ("apibank", "API-Request: [search(query=Paris museums)]", [{"name": "search",
                                                                "arguments": {"query": "Paris museums"}}]),
    ("qwen_agent", f"✿FUNCTION✿: get_current_weather\n✿ARGS✿: {ARGS}\n✿RESULT✿", CALL),
    ("react", f"\nThought: I need the current weather in Paris.\nAction: get_current_weather\nAction Input: "
     f"{json.dumps(PARIS, indent=2)}", CALL),  # ToolBench / ToolLLaMA
    ("react", "Thought: I need to search Badr Hari.\nAction: search[Badr Hari]",
     [{"name": "search", "arguments": {"query": "Badr Hari"}}]),  # FireAct
    ("react", "Thought 1: I need to search Badr Hari.\nAction 1: search[Badr Hari]",
     [{"name": "search", "arguments": {"query": "Badr Hari"}}]),  # the ReAct paper's numbered steps
    ("react", "Thought: I should look up the weather.\nAction:\n```json\n"
     + json.dumps({"action": "get_current_weather", "action_input": PARIS}) + "\n```", CALL),  # LangChain
    ("agentflan", ["I need the current weather in Paris.", tool_naming("get_current_weather"),
                   f"```json\n{ARGS}\n```"], CALL),  # the agentflan export: one assistant turn per part
    ("agentflan", f"I need the current weather in Paris.\n\n{tool_naming('get_current_weather', 1)}\n\n```json\n"
     f"{ARGS}\n```", CALL),
    ("agentflan", f"Two lookups.\n\n{tool_naming('get_current_weather', 2)} {tool_naming('search', 3)}\n\n"
     f"```json\n{json.dumps(CALL[0])}\n```\n\n```json\n"
     + json.dumps({"name": "search", "arguments": {"query": "Paris"}}) + "\n```",
     [*CALL, {"name": "search", "arguments": {"query": "Paris"}}]),
    ("agentflan", f"`get_current_weather` fits this request:\n{ARGS}", CALL),  # a paraphrase, an offered tool
    ("json", '{"name": "get_current_weather", "parameters": ' + ARGS + "}", CALL),  # Llama 3.x JSON
    ("json", '{"tool_calls": [{"name": "get_current_weather", "arguments": ' + ARGS + "}]}", CALL),  # xLAM
    ("json", '[{"name": "get_current_weather", "arguments": ' + ARGS + "}]", CALL),  # xLAM-2
    ("json", "Here is the call:\n```json\n" + json.dumps(CALL, indent=2) + "\n```", CALL),
    ("python", "[get_current_weather(location='Paris, France', unit='celsius')]", CALL),  # Llama 3.2 / BFCL
    ("python", "<|python_start|>[get_current_weather(location='Paris, France', unit='celsius')]<|python_end|>",
     CALL),  # Llama 4
    ("bracket", "search[Badr Hari]", [{"name": "search", "arguments": {"query": "Badr Hari"}}]),
]

# (syntax, a reply cut off as a length limit or a stop sequence leaves it)
TRUNCATED: list[tuple[str, object]] = [
    ("openai", {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "get_current_weather", "arguments": ARGS[:20]}}]}),
    ("hermes", f"<tool_call>\n{json.dumps(CALL[0])[:40]}"),
    ("qwen3_xml", "<tool_call>\n<function=get_current_weather>\n<parameter=location>\nParis, Fr"),
    ("llama3_function", f"<function=get_current_weather>{ARGS[:25]}"),
    ("llama3", '<|python_tag|>{"name": "get_current_weather", "parameters": {"location": "Par'),
    ("mistral", '[TOOL_CALLS] [{"name": "get_current_weather", "arguments": {"location": "Par'),
    ("mistral", '[TOOL_CALLS]get_current_weather[ARGS]{"location": "Par'),
    ("deepseek", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_current_weather\n```json\n"
     '{"location": "Par'),
    ("deepseek", "<｜tool▁calls▁begin｜>"),
    ("internlm2", '<|action_start|><|plugin|>\n{"name": "get_current_weather", "parameters": {"loc'),
    ("granite", '<|tool_call|>[{"arguments": {"location": "Paris'),
    ("phi", 'functools[{"name": "get_current_weather", "arguments": {"location"'),
    ("gemma4", '<|tool_call>call:get_current_weather{location:<|"|>Paris, Fr'),
    ("functiongemma", "<start_function_call>call:get_current_weather{location:<escape>Par"),
    ("gemma_tool_code", '```tool_code\nprint(get_current_weather(location="Paris'),
    ("gorilla", '<<function>>get_current_weather(location="Paris'),
    ("glaive", "<functioncall> {\"name\": \"get_current_weather\", \"arguments\": '{\"location\": \"Par"),
    ("apibank", "API-Request: [get_current_weather(location='Paris"),
    ("qwen_agent", '✿FUNCTION✿: get_current_weather\n✿ARGS✿: {"location": "Par'),
    ("qwen_agent", "✿FUNCTION✿: get_current_weather"),
    ("react", 'Thought: I need the weather.\nAction: get_current_weather\nAction Input: {"location": "Par'),
    ("agentflan", f"{tool_naming('get_current_weather')}\n\n```json\n{{\"location\": \"Par"),
    ("agentflan", ["I need the current weather.", tool_naming("get_current_weather", 1)]),
    ("json", '{"name": "get_current_weather", "parameters": {"location": "Par'),
    ("python", "[get_current_weather(location='Paris, Fr"),
    ("bracket", "search[Badr Ha"),
]


def test_every_syntax_has_examples_and_truncated_variants() -> None:
    assert {s for s, _, _ in EXAMPLES} == set(NAMES)
    assert {s for s, _ in TRUNCATED} == set(NAMES)


@pytest.mark.parametrize(("syntax", "reply", "calls"), EXAMPLES,
                         ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(EXAMPLES)])
def test_real_looking_example(syntax: str, reply: object, calls: list[dict]) -> None:
    parsed = parse_reply(reply, tool_schemas(TOOLS))  # type: ignore[arg-type]
    assert parsed.malformed == []
    assert parsed.syntax == syntax
    assert [c.to_dict() for c in parsed.calls] == calls
    assert all(c.syntax == syntax for c in parsed.calls)


@pytest.mark.parametrize(("syntax", "reply"), TRUNCATED, ids=[f"{s}-{i}" for i, (s, _) in enumerate(TRUNCATED)])
def test_truncated_variant_is_malformed(syntax: str, reply: object) -> None:
    for expected in (None, []):  # scored alone, and where no call is right: never an abstention
        result = classify(reply, TOOLS, expected=expected)  # type: ignore[arg-type]
        assert result.outcome == "malformed", result
        assert result.detail
    assert classify(reply, TOOLS, expected=[]).hallucination  # type: ignore[arg-type]


@pytest.mark.parametrize("syntax", [s for s in SYNTAXES if s.name != "openai"], ids=lambda s: s.name)
def test_registry_example_reads_as_its_syntax(syntax) -> None:
    parsed = parse_reply(syntax.example, tool_schemas([{"name": "weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}, SEARCH]))
    assert parsed.syntax == syntax.name and parsed.calls and not parsed.malformed


@pytest.mark.parametrize("marker", sorted({o for s in SYNTAXES for o in s.opens} | {"</tool_call>", "`search`"}))
def test_a_marker_inside_an_argument_is_text(marker: str) -> None:
    """Another syntax's marker written in an argument value opens nothing (found by the round-trip property)."""
    args = {"location": f"Paris {marker} France"}
    for reply in (f"<tool_call>{json.dumps({'name': 'get_current_weather', 'arguments': args})}</tool_call>",
                  f"Action: get_current_weather\nAction Input: {json.dumps(args)}",
                  json.dumps({"name": "get_current_weather", "arguments": args}),
                  [tool_naming("get_current_weather"), f"```json\n{json.dumps(args)}\n```"]):
        parsed = parse_reply(reply, tool_schemas(TOOLS))
        assert (parsed.malformed, [c.arguments for c in parsed.calls]) == ([], [args]), reply
