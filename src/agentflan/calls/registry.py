"""The call syntaxes, in precedence order: the first one present in a reply decides how it is read.

Order: structured calls first (they need no reading); then the syntaxes that open with a marker of their own (a
marker says unambiguously that a call was attempted); then ReAct keyword lines; then the Agent-FLAN
conversation shape (a tool-naming sentence and an argument block); then JSON call objects, Python-style calls and
``name[args]``, which can also occur in a plain answer and so come last. Each syntax names the model families
and corpora that write it, and a one-line example (the docs' table is checked against these).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentflan.calls import conversation, tagged, text
from agentflan.calls.model import ParsedReply

ReadFn = Callable[[str, Mapping[str, Mapping[str, Any]], ParsedReply], bool]


@dataclass(frozen=True)
class Syntax:
    name: str
    used_by: str  # model families and corpora that write it
    example: str  # as a model writes it (the docs show it on one line, newlines written as "\n")
    # The reader runs only when one of these substrings is in the reply (a fast test, most replies skip most
    # readers); the structured syntax has none.
    triggers: tuple[str, ...]
    read: ReadFn | None
    # Substrings that open a call in this syntax, for the safety rule (a reply that opens a call that no reader
    # read is malformed).
    opens: tuple[str, ...] = ()


SYNTAXES: tuple[Syntax, ...] = (
    Syntax("openai", "OpenAI / vLLM / any OpenAI-compatible server: structured `tool_calls` (and legacy "
           "`function_call`)",
           '{"tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": "{\\"city\\": '
           '\\"Paris\\"}"}}]}', (), None),
    Syntax("qwen3_xml", "Qwen3-Coder, Qwen3.5",
           "<tool_call><function=weather><parameter=city>Paris</parameter></function></tool_call>",
           ("<function=",), tagged.read_qwen3_xml, ("<function=",)),
    Syntax("llama3_function", "Llama 3.1-3.3 user-defined tool format",
           '<function=weather>{"city": "Paris"}</function>', ("<function=",), tagged.read_llama3_function,
           ("<function=",)),
    Syntax("hermes", "Hermes 2 Pro / 3, Qwen2.5, Qwen3, Qwen-Agent's Hermes template, Granite 4",
           '<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>', ("<tool_call>",),
           tagged.read_hermes, ("<tool_call>",)),
    Syntax("llama3", "Llama 3.1-3.3 (`<|python_tag|>`, also the built-in tools' `.call(...)`)",
           '<|python_tag|>{"name": "weather", "parameters": {"city": "Paris"}}', ("<|python_tag|>",),
           tagged.read_llama3, ("<|python_tag|>",)),
    Syntax("mistral", "Mistral 7B v0.3, Nemo, Small 3 (`[TOOL_CALLS] [...]`); tokenizer v11+ "
           "(`[TOOL_CALLS]name[ARGS]{...}`)",
           '[TOOL_CALLS] [{"name": "weather", "arguments": {"city": "Paris"}}]', ("[TOOL_CALLS]",),
           tagged.read_mistral, ("[TOOL_CALLS]",)),
    Syntax("deepseek", "DeepSeek V2.5, V3, R1 (type, name, fenced JSON) and V3.1 (name, JSON)",
           "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>weather<｜tool▁sep｜>{\"city\": \"Paris\"}<｜tool▁call▁end｜>"
           "<｜tool▁calls▁end｜>",
           ("tool▁call",), tagged.read_deepseek, ("<｜tool▁call", "<|tool▁call")),
    Syntax("internlm2", "InternLM2 / InternLM2.5-chat",
           '<|action_start|><|plugin|>{"name": "weather", "parameters": {"city": "Paris"}}<|action_end|>',
           ("<|action_start|>",), tagged.read_internlm2, ("<|action_start|>",)),
    Syntax("granite", "Granite 3.x, Phi-4-mini's chat template",
           '<|tool_call|>[{"name": "weather", "arguments": {"city": "Paris"}}]', ("<|tool_call|>",),
           tagged.read_granite, ("<|tool_call|>",)),
    Syntax("phi", "Phi-4-mini (`functools[...]`)",
           'functools[{"name": "weather", "arguments": {"city": "Paris"}}]', ("functools",), tagged.read_phi,
           ("functools[",)),
    Syntax("gemma4", "Gemma 4", '<|tool_call>call:weather{city:<|"|>Paris<|"|>}<tool_call|>', ("<|tool_call>",),
           tagged.read_gemma4, ("<|tool_call>",)),
    Syntax("functiongemma", "FunctionGemma",
           "<start_function_call>call:weather{city:<escape>Paris<escape>}<end_function_call>",
           ("<start_function_call>",), tagged.read_functiongemma, ("<start_function_call>",)),
    Syntax("gemma_tool_code", "Gemma 2 / 3 (Google's function-calling prompt)",
           '```tool_code\nprint(weather(city="Paris"))\n```', ("```tool_code",), tagged.read_gemma_tool_code,
           ("```tool_code",)),
    Syntax("gorilla", "Gorilla OpenFunctions v1 / v2", '<<function>>weather(city="Paris")', ("<<function>>",),
           tagged.read_gorilla, ("<<function>>",)),
    Syntax("glaive", "glaive-function-calling v1 / v2 (arguments are a quoted JSON string)",
           "<functioncall> {\"name\": \"weather\", \"arguments\": '{\"city\": \"Paris\"}'}", ("<functioncall>",),
           tagged.read_glaive, ("<functioncall>",)),
    Syntax("apibank", "API-Bank", "API-Request: [weather(city='Paris')]", ("API-Request:",), tagged.read_apibank,
           ("API-Request:",)),
    Syntax("qwen_agent", "Qwen-Agent's function-calling prompt (Qwen1.5 / Qwen2)",
           '✿FUNCTION✿: weather\n✿ARGS✿: {"city": "Paris"}', ("✿FUNCTION✿",), tagged.read_qwen_agent,
           ("✿FUNCTION✿",)),
    Syntax("react", "ReAct and its variants: ToolBench / ToolLLaMA, Qwen ReAct, AgentTuning (`Action Input:` JSON); "
           "FireAct, WebShop (`Action: search[...]`); the ReAct paper (`Action 1:`); LangChain (`Action:` "
           "JSON blob)",
           'Thought: I need the weather.\nAction: weather\nAction Input: {"city": "Paris"}',
           ("Action", "ACTION", "Act"), text.read_react),
    Syntax("agentflan", "Agent-FLAN conversation: what `agentflan build` and the `agentflan` export write",
           'The right tool here is `weather`.\n```json\n{"city": "Paris"}\n```', ("`",), conversation.read_agentflan),
    Syntax("json", "Llama 3.x JSON (`parameters`), xLAM (`{\"tool_calls\": [...]}` and lists), bare or fenced JSON "
           "calls, OpenAI-shaped objects",
           '{"name": "weather", "arguments": {"city": "Paris"}}', ("{", "["), text.read_json),
    Syntax("python", "BFCL's answer shape, Llama 3.2 / 4 and Gemma pythonic calls, OpenFunctions v1",
           '[weather(city="Paris")]', ("(",), text.read_python),
    Syntax("bracket", "FireAct / WebShop actions as the whole reply", "search[best kick boxer]", ("[",),
           text.read_bracket),
)

BY_NAME: dict[str, Syntax] = {s.name: s for s in SYNTAXES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
