"""Render calls in every reply shape the parser supports (test helper), and BFCL gold answers as concrete calls."""

from __future__ import annotations

import json
from typing import Any

from tool_naming import tool_naming

SHAPES = ("openai", "hermes", "json", "json_fenced", "parameters", "react", "python", "python_fenced", "agentflan")


def render(calls: list[dict[str, Any]], shape: str) -> str | dict[str, Any]:
    """A reply in ``shape`` making ``calls`` ([{name, arguments}])."""
    if shape == "openai":
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}} for i, c in enumerate(calls)]}
    if shape == "hermes":
        return "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)
    if shape == "json":
        return json.dumps(calls[0]) if len(calls) == 1 else json.dumps(calls)
    if shape == "json_fenced":
        return "Here is the call:\n```json\n" + json.dumps(calls, indent=2) + "\n```"
    if shape == "parameters":
        body = [{"name": c["name"], "parameters": c["arguments"]} for c in calls]
        return json.dumps(body[0] if len(body) == 1 else body)
    if shape == "react":
        return "\n".join(f"Thought: I should call {c['name']}.\nAction: {c['name']}\n"
                         f"Action Input: {json.dumps(c['arguments'])}" for c in calls)
    if shape == "agentflan":  # the agentflan export's turns: thought, tool-naming sentence(s), argument blocks
        naming = " ".join(tool_naming(c["name"], len(c["name"])) for c in calls)
        blocks = [json.dumps(c["arguments"] if len(calls) == 1 else c) for c in calls]
        return "I need to look this up.\n\n" + naming + "".join(f"\n\n```json\n{b}\n```" for b in blocks)
    if shape in ("python", "python_fenced"):
        text = ", ".join(f"{c['name']}(" + ", ".join(f"{k}={v!r}" for k, v in c["arguments"].items()) + ")"
                         for c in calls)
        text = f"[{text}]" if len(calls) > 1 else text
        return f"```python\n{text}\n```" if shape == "python_fenced" else text
    raise ValueError(shape)


def gold_calls(ground_truth: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """BFCL possible answers → one concrete correct call each: the first allowed value; an optional parameter
    ("" allowed) is omitted when the tool does not declare it (BFCL's answers sometimes list it for the wrong
    tool) or when "" is its only choice. Nested dicts hold allowed lists one level down, then plain values."""
    declared = {t["name"]: set((t.get("parameters") or {}).get("properties") or {}) for t in tools or []}
    calls = []
    for item in ground_truth:
        for name, allowed in item.items():
            known = declared.get(name)
            args = {k: v for k, v in _pick(allowed).items() if known is None or k in known or "" not in allowed[k]}
            # A required parameter whose only allowed value is "" is answered with "" (BFCL accepts that).
            args.update({k: "" for k in _required(tools, name) if k not in args and allowed.get(k) == [""]})
            calls.append({"name": name, "arguments": args})
    return calls


def _required(tools: list[dict[str, Any]] | None, name: str) -> list[str]:
    tool = next((t for t in tools or [] if t["name"] == name), None)
    return list(((tool or {}).get("parameters") or {}).get("required") or [])


def _pick(allowed: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values in allowed.items():
        if not isinstance(values, list):  # second nesting level: a plain value
            out[key] = values
            continue
        value = next((v for v in values if v != ""), None)
        if value is None and "" in values:
            continue
        if isinstance(value, dict):
            value = _pick(value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            value = [_pick(v) for v in value]
        out[key] = value
    return out


def unsatisfiable(ground_truth: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> bool:
    """An answer no reply can match under BFCL's rules: a parameter whose allowed list is empty, or a required
    parameter the answer does not list (or one the tool does not declare; BFCL data errors: live_simple_106-63-0, 112-68-0,
    live_multiple_862-181-3, 964-207-0)."""
    for item in ground_truth:
        for name, allowed in item.items():
            if any(values == [] for values in allowed.values()):
                return True
            if any(k not in allowed for k in _required(tools, name)):
                return True
            tool = next((t for t in tools or [] if t["name"] == name), None)
            declared = ((tool or {}).get("parameters") or {}).get("properties")
            if declared is not None and any(k not in declared and "" not in v for k, v in allowed.items()):
                return True
    return False
