"""Readers for the call syntaxes that open with a marker of their own: a model family's special tokens or tags,
or a corpus convention. A marker says unambiguously that a call was attempted, so once a reader's marker is in
the reply, whatever follows it is a call or a broken call (`malformed`), never an abstention.

A closing marker is not required when what it encloses is complete: servers strip end tokens used as stop
sequences, and decoding with ``skip_special_tokens`` removes some.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from agentflan.calls.model import ParsedReply
from agentflan.callsyntax import (
    TOO_DEEP,
    closing_bracket,
    json_call,
    parse_arguments,
    parse_python_call,
    parse_python_calls,
)
from agentflan.errors import RecordError

Tools = Mapping[str, Mapping[str, Any]]
_DECODER = json.JSONDecoder()


def _decode(text: str, pos: int = 0) -> tuple[Any, int] | None:
    """The JSON value starting at ``pos`` (after whitespace) and where it ends, or None."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    try:
        return _DECODER.raw_decode(text, pos)
    except (json.JSONDecodeError, RecursionError, MemoryError):
        return None


def _json_call_items(body: str, syntax: str, where: str, out: ParsedReply, multiple: bool = True) -> None:
    """A body that holds exactly one JSON call object, or a list of them."""
    found = _decode(body)
    if found is None or body[found[1]:].strip():
        out.fail(f"{syntax}: {where} is not a JSON call (truncated or invalid JSON)")
        return
    value = found[0]
    items = value if isinstance(value, list) and multiple else [value]
    if not items:
        out.fail(f"{syntax}: {where} holds an empty list of calls")
    for item in items:
        call = json_call(item)
        if call is None:
            out.fail(f"{syntax}: {where} is not a JSON call object")
            continue
        out.add(syntax, call[0], call[1])


def _segments(text: str, marker: str, ends: tuple[str, ...] = ()) -> list[str]:
    """The text after each ``marker``, up to the next marker or the first of ``ends``."""
    out = []
    for piece in text.split(marker)[1:]:
        cut = min((i for i in (piece.find(e) for e in ends) if i >= 0), default=len(piece))
        out.append(piece[:cut])
    return out


def _python_calls(code: str, syntax: str, none_reason: str, out: ParsedReply) -> None:
    """Python-style calls after a marker: one call or a list of them; anything else is a broken call."""
    try:
        calls = parse_python_calls(code)
    except ValueError as exc:
        out.fail(f"{syntax}: {exc}")
        return
    if not calls:
        out.fail(f"{syntax}: {none_reason}")
    for name, args in calls or []:
        out.add(syntax, name, args)


# --- Hermes / Qwen2.5 ------------------------------------------------------------------------------------------


_OPEN_TAG, _CLOSE_TAG = "<tool_call>", "</tool_call>"
# Only end-of-turn tokens may follow a call whose closing tag was cut (a stop sequence, or decoding).
_END_OF_TURN = re.compile(r"(?:\s*(?:<\|[^|<>\s]{1,32}\|>|</s>|<eos>|<end_of_turn>))*\s*$")


def read_hermes(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<tool_call>{"name", "arguments"}</tool_call>`` (Hermes 2 Pro/3, Qwen2.5/Qwen3, Granite 4). The JSON
    value after the tag says where the call ends, so a tag written inside an argument string is text."""
    pos = text.find(_OPEN_TAG)
    if pos < 0:
        return False
    while pos >= 0:
        body = pos + len(_OPEN_TAG)
        close = text.find(_CLOSE_TAG, body)
        found = _decode(text, body)
        after = _skip_space(text, found[1]) if found is not None else -1
        if found is None or not (text.startswith(_CLOSE_TAG, after) or text.startswith(_OPEN_TAG, after)
                                 or _END_OF_TURN.match(text, after)):
            out.fail("hermes: <tool_call> body is not a JSON call")
            pos = text.find(_OPEN_TAG, close + len(_CLOSE_TAG)) if close >= 0 else -1
            continue
        value = found[0]
        # One block may hold one call or a list of calls (some Qwen fine-tunes write a list).
        for item in value if isinstance(value, list) else [value]:
            call = json_call(item)
            if call is None:
                out.fail("hermes: <tool_call> body is not a JSON call")
                continue
            out.add("hermes", call[0], call[1])
        pos = text.find(_OPEN_TAG, after)
    return True


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


# --- Qwen3-Coder / Qwen3.5 XML ------------------------------------------------------------------------------------

_FUNCTION_TAG = re.compile(r"<function=(?P<name>[^>\n]*)>")
_PARAMETER = re.compile(r"<parameter=(?P<key>[^>\n]+)>(?P<value>.*?)</parameter>", re.DOTALL)


def _function_tag_kind(text: str) -> str | None:
    """``qwen3_xml`` when the first ``<function=NAME>`` holds ``<parameter=...>`` tags, ``llama3_function`` when
    it holds a JSON object, None when there is no such tag."""
    m = _FUNCTION_TAG.search(text)
    if m is None:
        return None
    return "llama3_function" if text[m.end():].lstrip().startswith("{") else "qwen3_xml"


def read_qwen3_xml(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<tool_call><function=weather><parameter=city>Paris</parameter></function></tool_call>`` (Qwen3-Coder,
    Qwen3.5). Values are text; a parameter the schema types as non-string is decoded as JSON."""
    if _function_tag_kind(text) != "qwen3_xml":
        return False
    for m in _FUNCTION_TAG.finditer(text):
        end = text.find("</function>", m.end())
        if end < 0:
            out.fail(f"qwen3_xml: <function={m.group('name')}> is never closed (truncated)")
            continue
        body = text[m.end():end]
        props = ((tools.get(m.group("name").strip()) or {}).get("properties")) or {}
        args: dict[str, Any] = {}
        for p in _PARAMETER.finditer(body):
            key = p.group("key").strip()
            args[key] = _typed(p.group("value").strip("\n"), props.get(key))
        if "<parameter=" in _PARAMETER.sub("", body):
            out.fail(f"qwen3_xml: a <parameter=...> of {m.group('name')} is never closed")
            continue
        out.add("qwen3_xml", m.group("name"), args)
    return True


def _typed(value: str, schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    if kind in (None, "string") or isinstance(kind, list):
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError, MemoryError):
        return value  # the schema check reports the wrong type


# --- Llama 3.x ---------------------------------------------------------------------------------------------------

_LLAMA_ENDS = ("<|eom_id|>", "<|eot_id|>", "<|python_end|>")


def read_llama3(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<|python_tag|>{"name", "parameters"}`` (several separated by ``;``) and the built-in tools'
    ``<|python_tag|>brave_search.call(query="...")`` (Llama 3.1-3.3)."""
    if "<|python_tag|>" not in text:
        return False
    for body in _segments(text, "<|python_tag|>", _LLAMA_ENDS):
        body = body.strip()
        if body.startswith("{"):
            for piece in _split_top_level(body, ";"):
                _json_call_items(piece, "llama3", "<|python_tag|> body", out, multiple=False)
            continue
        try:
            call = parse_python_call(body)
        except ValueError as exc:
            out.fail(f"llama3: <|python_tag|> call: {exc}")
            continue
        if call is None:
            out.fail("llama3: <|python_tag|> is followed by neither a JSON call nor a tool call (truncated?)")
            continue
        name, args = call
        out.add("llama3", name.removesuffix(".call"), args)
    return True


def _split_top_level(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets and strings; a part whose brackets never close ends the text."""
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "{[(":
            try:
                i = closing_bracket(text, i)
            except ValueError:
                break
            continue
        if text[i] == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def read_llama3_function(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<function=weather>{"city": "Paris"}</function>`` (Llama 3.1's user-defined tool format)."""
    if _function_tag_kind(text) != "llama3_function":
        return False
    for m in _FUNCTION_TAG.finditer(text):
        end = text.find("</function>", m.end())
        body = text[m.end(): end if end >= 0 else len(text)]
        found = _decode(body)
        if found is None or body[found[1]:].strip() or not isinstance(found[0], dict):
            out.fail(f"llama3_function: <function={m.group('name')}> is not followed by a JSON object")
            continue
        out.add("llama3_function", m.group("name"), found[0])
    return True


# --- Mistral -----------------------------------------------------------------------------------------------------

_MISTRAL_NAMED = re.compile(r"^\s*(?P<name>[\w.\-]+)(?:\[CALL_ID\][A-Za-z0-9]*)?\[ARGS\]", re.DOTALL)


def read_mistral(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``[TOOL_CALLS] [{"name", "arguments"}]`` (Mistral 7B v0.3, Nemo, Small 3) and, from tokenizer v11,
    ``[TOOL_CALLS]weather[ARGS]{"city": "Paris"}`` (optionally ``[CALL_ID]id`` before ``[ARGS]``)."""
    if "[TOOL_CALLS]" not in text:
        return False
    for body in _segments(text, "[TOOL_CALLS]", ("</s>",)):
        named = _MISTRAL_NAMED.match(body)
        if named is None:
            _json_call_items(body, "mistral", "[TOOL_CALLS] body", out)
            continue
        found = _decode(body, named.end())
        if found is None or not isinstance(found[0], dict):
            out.fail(f"mistral: the [ARGS] of {named.group('name')} are not a JSON object (truncated?)")
            continue
        out.add("mistral", named.group("name"), found[0])
    return True


# --- DeepSeek ----------------------------------------------------------------------------------------------------

# DeepSeek's tokens use a full-width bar and a "▁" for spaces; some decoders print an ASCII bar instead.
_DS_CALLS_BEGIN = re.compile(r"<[｜|]tool▁calls▁begin[｜|]>")
_DS_CALL_BEGIN = re.compile(r"<[｜|]tool▁call▁begin[｜|]>")
_DS_CALL_END = re.compile(r"<[｜|]tool▁call▁end[｜|]>|<[｜|]tool▁calls▁end[｜|]>")
_DS_SEP = re.compile(r"<[｜|]tool▁sep[｜|]>")


def read_deepseek(text: str, tools: Tools, out: ParsedReply) -> bool:
    """V2.5/V3/R1: ``<｜tool▁call▁begin｜>function<｜tool▁sep｜>weather`` + a fenced JSON block; V3.1:
    ``<｜tool▁call▁begin｜>weather<｜tool▁sep｜>{"city": "Paris"}``; each ending in ``<｜tool▁call▁end｜>``."""
    begins = list(_DS_CALL_BEGIN.finditer(text))
    if not begins:
        if _DS_CALLS_BEGIN.search(text):
            out.fail("deepseek: <｜tool▁calls▁begin｜> holds no call (truncated)")
            return True
        return False
    for m in begins:
        end = _DS_CALL_END.search(text, m.end())
        body = text[m.end(): end.start() if end else len(text)]
        parts = _DS_SEP.split(body, maxsplit=1)
        if len(parts) != 2:
            out.fail("deepseek: a call without <｜tool▁sep｜> (truncated?)")
            continue
        head, rest = parts
        if head.strip() == "function":  # V3: the type, then the name on the first line, then the arguments
            name, _, rest = rest.partition("\n")
        else:
            name = head
        out.add("deepseek", name, _unfenced(rest))
    return True


def _unfenced(text: str) -> str:
    """Arguments in a fenced block, opened and maybe not closed (the closing token may be the call's end)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rstrip()
        body = body.removesuffix("```")
    return body


# --- InternLM2 ---------------------------------------------------------------------------------------------------


def read_internlm2(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<|action_start|><|plugin|>{"name", "parameters"}<|action_end|>`` (InternLM2/2.5-chat); a code
    interpreter action ``<|action_start|><|interpreter|>`` is a call to ``interpreter`` with the ``code``."""
    if "<|action_start|>" not in text:
        return False
    for body in _segments(text, "<|action_start|>", ("<|action_end|>",)):
        body = body.strip()
        if body.startswith("<|plugin|>"):
            _json_call_items(body.removeprefix("<|plugin|>"), "internlm2", "<|plugin|> body", out)
        elif body.startswith("<|interpreter|>") and body.removeprefix("<|interpreter|>").strip():
            out.add("internlm2", "interpreter", {"code": body.removeprefix("<|interpreter|>").strip()})
        else:
            out.fail("internlm2: <|action_start|> is followed by no plugin call (truncated?)")
    return True


# --- Granite 3.x, Phi-4-mini ---------------------------------------------------------------------------------------


def read_granite(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<|tool_call|>[{"name", "arguments"}]`` (Granite 3.x; Phi-4-mini's template, closed by
    ``<|/tool_call|>``)."""
    if "<|tool_call|>" not in text:
        return False
    for body in _segments(text, "<|tool_call|>", ("<|/tool_call|>", "<|end_of_text|>", "<|end|>")):
        _json_call_items(body, "granite", "<|tool_call|> body", out)
    return True


_FUNCTOOLS = re.compile(r"functools\s*(?=\[)")


def read_phi(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``functools[{"name", "arguments"}]`` (Phi-4-mini)."""
    starts = list(_FUNCTOOLS.finditer(text))
    if not starts:
        return False
    for m in starts:
        found = _decode(text, m.end())
        if found is None or not isinstance(found[0], list):
            out.fail("phi: functools[...] is not a complete JSON list of calls (truncated?)")
            continue
        body = text[m.end(): found[1]]
        _json_call_items(body, "phi", "functools[...]", out)
    return True


# --- Gemma --------------------------------------------------------------------------------------------------------

_TOOL_CODE = re.compile(r"```tool_code[ \t]*\n(?P<body>.*?)(?:\n?```|$)", re.DOTALL)
_PRINT = re.compile(r"^print\((?P<inner>.*)\)$", re.DOTALL)


def read_gemma_tool_code(text: str, tools: Tools, out: ParsedReply) -> bool:
    """```` ```tool_code\\nprint(weather(city="Paris"))\\n``` ```` (Gemma 2/3 function calling)."""
    if "```tool_code" not in text:
        return False
    for m in _TOOL_CODE.finditer(text):
        if not m.group(0).rstrip().endswith("```"):
            out.fail("gemma_tool_code: the tool_code block is never closed (truncated)")
            continue
        code = m.group("body").strip()
        wrapped = _PRINT.match(code)
        code = wrapped.group("inner") if wrapped else code
        _python_calls(code, "gemma_tool_code", "the tool_code block holds no call", out)
    return True


_GEMMA_KEY = re.compile(r"([{,]\s*)([A-Za-z_][\w.\-]*)\s*:")


def _gemma_object(body: str, quote: str) -> dict[str, Any] | None:
    """``{city:<escape>Paris<escape>,days:3}`` → a dict: strings sit between two ``quote`` markers, keys are bare."""
    pieces = body.split(quote)
    if len(pieces) % 2 == 0:
        return None  # a string that never closes
    code = [_GEMMA_KEY.sub(r'\1"\2":', p) for p in pieces[::2]]
    strings = [json.dumps(s, ensure_ascii=False) for s in pieces[1::2]]
    joined = "".join(c + (strings[i] if i < len(strings) else "") for i, c in enumerate(code))
    try:
        value = json.loads(joined)
    except (json.JSONDecodeError, RecursionError, MemoryError):
        return None
    return value if isinstance(value, dict) else None


_GEMMA_CALL = re.compile(r"\s*call:(?P<name>[\w.\-]+)")


def _gemma_calls(text: str, syntax: str, opener: str, closer: str, quote: str, out: ParsedReply) -> None:
    for body in _segments(text, opener, (closer,)):
        m = _GEMMA_CALL.match(body)
        if m is None:
            out.fail(f"{syntax}: {opener} is not followed by call:NAME{{...}} (truncated?)")
            continue
        args = _gemma_object(body[m.end():].strip(), quote)
        if args is None:
            out.fail(f"{syntax}: the arguments of {m.group('name')} do not parse (truncated?)")
            continue
        out.add(syntax, m.group("name"), args)


def read_gemma4(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<|tool_call>call:weather{city:<|"|>Paris<|"|>}<tool_call|>`` (Gemma 4)."""
    if "<|tool_call>" not in text:
        return False
    _gemma_calls(text, "gemma4", "<|tool_call>", "<tool_call|>", '<|"|>', out)
    return True


def read_functiongemma(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<start_function_call>call:weather{city:<escape>Paris<escape>}<end_function_call>`` (FunctionGemma)."""
    if "<start_function_call>" not in text:
        return False
    _gemma_calls(text, "functiongemma", "<start_function_call>", "<end_function_call>", "<escape>", out)
    return True


# --- Gorilla OpenFunctions ------------------------------------------------------------------------------------------


def read_gorilla(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<<function>>weather(city="Paris")`` (Gorilla OpenFunctions v1/v2; several calls as a list or one
    marker each)."""
    if "<<function>>" not in text:
        return False
    for body in _segments(text, "<<function>>"):
        _python_calls(body.strip(), "gorilla", "<<function>> is not followed by a call (truncated?)", out)
    return True


# --- glaive-function-calling ------------------------------------------------------------------------------------


def read_glaive(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``<functioncall> {"name": "weather", "arguments": '{"city": "Paris"}'}`` (glaive-function-calling v1/v2,
    the source of the paper's Agent-H): the arguments are JSON inside a single-quoted string, so the object is
    a Python literal, not JSON."""
    if "<functioncall>" not in text:
        return False
    for body in _segments(text, "<functioncall>", ("<|endoftext|>",)):
        start = body.find("{")
        try:
            if start < 0:
                raise ValueError("no object")
            end = closing_bracket(body, start)
        except ValueError:
            out.fail("glaive: <functioncall> is not followed by a complete call object (truncated?)")
            continue
        value = _json_or_literal(body[start:end])
        call = json_call(value) if value is not None else None
        if call is None:
            out.fail("glaive: the <functioncall> object is not a call {name, arguments}")
            continue
        out.add("glaive", call[0], call[1])
    return True


def _json_or_literal(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, MemoryError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None


# --- API-Bank ---------------------------------------------------------------------------------------------------

_API_REQUEST = re.compile(r"API-Request:\s*(?=\[)")
_APIBANK_CALL = re.compile(r"([A-Za-z_][\w.]*)\((.*)\)", re.DOTALL)
_KWARG = re.compile(r"""\s*([A-Za-z_]\w*)\s*=\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)""")


def read_apibank(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``API-Request: [ToolSearcher(keywords='weather')]`` (API-Bank). Models often leave values unquoted
    (``[GetWeather(city=Paris)]``), as API-Bank's own evaluator allows: each ``key=value`` is then taken as text."""
    starts = list(_API_REQUEST.finditer(text))
    if not starts:
        return False
    for m in starts:
        try:
            end = closing_bracket(text, m.end())
        except ValueError:
            out.fail("apibank: API-Request: [...] is never closed (truncated)")
            continue
        call = _apibank_call(text[m.end() + 1: end - 1].strip())
        if call is None:
            out.fail("apibank: API-Request: [...] does not hold Name(key=value, ...)")
            continue
        out.add("apibank", call[0], call[1])
    return True


def _apibank_call(body: str) -> tuple[str, dict[str, Any]] | None:
    try:
        call = parse_python_call(body)
    except ValueError as exc:
        if str(exc) == TOO_DEEP:
            return None
        call = None
    if call is not None:
        return call
    m = _APIBANK_CALL.fullmatch(body)
    if m is None:
        return None
    args: dict[str, Any] = {}
    rest = m.group(2)
    pos = 0
    while pos < len(rest):
        kv = _KWARG.match(rest, pos)
        if kv is None or kv.end() == pos:
            return None
        value = kv.group(2).strip()
        args[kv.group(1)] = value[1:-1] if value[:1] in "'\"" and value[-1:] == value[:1] else value
        pos = kv.end()
    return m.group(1), args


# --- Qwen-Agent --------------------------------------------------------------------------------------------------

_QWEN_AGENT_ENDS = ("✿RESULT✿", "✿RETURN✿")


def read_qwen_agent(text: str, tools: Tools, out: ParsedReply) -> bool:
    """``✿FUNCTION✿: weather`` / ``✿ARGS✿: {"city": "Paris"}`` (Qwen-Agent's function-calling prompt, used by
    Qwen1.5/Qwen2 through qwen-agent)."""
    if "✿FUNCTION✿" not in text:
        return False
    for body in _segments(text, "✿FUNCTION✿", _QWEN_AGENT_ENDS):
        head, sep, args = body.partition("✿ARGS✿")
        name = head.strip().lstrip(":：").strip()
        if not sep:
            out.fail(f"qwen_agent: ✿FUNCTION✿ {name or '?'} without ✿ARGS✿ (truncated?)")
            continue
        raw = args.strip().lstrip(":：").strip()
        try:
            parsed = parse_arguments(raw)
        except RecordError as err:
            out.fail(f"qwen_agent: {err.detail or err.reason}")
            continue
        out.add("qwen_agent", name, parsed)
    return True
