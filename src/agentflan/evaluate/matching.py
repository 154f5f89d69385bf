"""Do a reply's calls match the expected calls? BFCL's AST rules, reimplemented, serve every benchmark.

Expected calls come in BFCL's ``possible_answer`` shape, ``[{tool: {arg: [allowed values]}}]``, or plainly as
``[{"name", "arguments"}]`` (turned into the first shape with one allowed value each). The rules follow BFCL's
``ast_checker`` (bfcl-eval 2026.3.23):

- every required parameter present; no parameter the tool or the answer does not know;
- an optional parameter may be omitted only when ``""`` is among its allowed values;
- types as BFCL defines them from the tool's schema: ``integer``→int, ``float``→float (an int is accepted),
  ``string``→str, ``boolean``→bool, ``array``/``tuple``→list (a tuple is accepted for ``tuple``), ``dict``→dict,
  ``any``→str; array items checked one level deep; a value of the answer's own type is accepted as a "variable";
- strings compared after BFCL's normalisation (spaces and ``,./-_*^`` removed, lower case, ``'``→``"``), also
  inside lists and dicts; dicts and lists of dicts compared key by key against the allowed values;
- parallel calls matched order-independently (each expected call takes one distinct reply call).

Beyond BFCL: a tool name written with ``_`` for ``.`` (``math_factorial`` for ``math.factorial``, since OpenAI's
API forbids dots in names) matches, as BFCL does for its function-calling models.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentflan.calls import ParsedCall

PY_TYPES: dict[str, type] = {
    "string": str, "integer": int, "float": float, "boolean": bool, "array": list, "tuple": list, "dict": dict,
    "any": str,
}
_FROM_JSON_SCHEMA = {"object": "dict", "number": "float"}
_STANDARDIZE = re.compile(r"[ \,\.\/\-\_\*\^]")


@dataclass(frozen=True)
class Verdict:
    outcome: str  # call_correct | call_wrong_tool | call_wrong_args
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.outcome == "call_correct"


def standardize_string(text: str) -> str:
    """BFCL's string normalisation before comparing (so "New York, NY" matches "new york ny")."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def bfcl_type(schema: Mapping[str, Any] | None) -> str | None:
    """A parameter's type in BFCL's vocabulary, from a schema normalised by `toolschema` (which keeps the
    original name in ``x-original-type``) or a raw BFCL schema."""
    if not isinstance(schema, Mapping):
        return None
    original = schema.get("x-original-type")
    if isinstance(original, str):
        name = original.strip().lower()
    elif isinstance(schema.get("type"), str):
        name = schema["type"]
    else:
        return None
    name = _FROM_JSON_SCHEMA.get(name, name)
    return {"int": "integer", "str": "string", "bool": "boolean", "list": "array", "object": "dict"}.get(name, name)


def as_possible_answer(expected: Sequence[Mapping[str, Any]]) -> list[dict[str, dict[str, list[Any]]]]:
    """``[{"name", "arguments"}]`` → BFCL's ``[{name: {arg: [value]}}]``; the BFCL shape is returned as is."""
    out: list[dict[str, dict[str, list[Any]]]] = []
    for item in expected:
        if "name" in item and ("arguments" in item or "parameters" in item or len(item) == 1):
            args = item.get("arguments", item.get("parameters")) or {}
            out.append({str(item["name"]): {k: [_wrap(v)] for k, v in args.items()}})
        else:
            out.append({str(k): dict(v) for k, v in item.items()})
    return out


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: [v] for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [{k: [x] for k, x in v.items()} for v in value]
    return value


def names_match(called: str, expected: str) -> bool:
    return called == expected or called == expected.replace(".", "_")


def match_calls(calls: Sequence[ParsedCall], expected: Sequence[Mapping[str, Any]],
                tools: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] | None = None) -> Verdict:
    """Match a reply's calls against the expected calls, order-independently. ``tools`` gives the parameter
    schemas (a list of functions, or {name: schema}); without them, types and required parameters go unchecked."""
    answers = as_possible_answer(expected)
    schemas = _schemas(tools)
    wanted = Counter(next(iter(a)) for a in answers)
    got = Counter(_resolve(c.name, wanted) for c in calls)
    if got != wanted:
        return Verdict("call_wrong_tool", f"called {sorted(got.elements())}, expected {sorted(wanted.elements())}")
    used: set[int] = set()
    for answer in answers:
        (name, allowed), = answer.items()
        errors: list[str] = []
        for i, call in enumerate(calls):
            if i in used or not names_match(call.name, name):
                continue
            error = check_arguments_bfcl(call.arguments, allowed, schemas.get(name))
            if error is None:
                used.add(i)
                break
            errors.append(error)
        else:
            return Verdict("call_wrong_args", f"{name}: {errors[0] if errors else 'no matching call'}")
    return Verdict("call_correct")


def _resolve(called: str, wanted: Counter[str]) -> str:
    return next((w for w in wanted if names_match(called, w)), called)


def _schemas(tools: Any) -> dict[str, Mapping[str, Any]]:
    if not tools:
        return {}
    if isinstance(tools, Mapping):
        return dict(tools)
    out: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        fn = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool
        if isinstance(fn.get("name"), str):
            out[fn["name"]] = fn.get("parameters") or {}
    return out


def check_arguments_bfcl(args: Mapping[str, Any], allowed: Mapping[str, list[Any]],
                         schema: Mapping[str, Any] | None) -> str | None:
    """None when ``args`` satisfy one expected call's allowed values under BFCL's rules, else the first error."""
    props: Mapping[str, Any] = (schema or {}).get("properties") or {}
    if schema is not None:
        for param in (schema.get("required") or []):
            if param not in args:
                return f"missing required parameter {param!r}"
    for param, value in args.items():
        if (schema is not None and param not in props) or param not in allowed:
            return f"unexpected parameter {param!r}"
        possible = allowed[param]
        btype = bfcl_type(props.get(param)) if schema is not None else None
        error = _check_value(param, value, possible, btype, props.get(param) or {})
        if error:
            return error
    for param, possible in allowed.items():
        if param not in args and "" not in possible:
            return f"optional parameter {param!r} not provided"
    return None


def _check_value(param: str, value: Any, possible: list[Any], btype: str | None,
                 prop: Mapping[str, Any]) -> str | None:
    if btype is None:  # no schema: compare by the value's own kind
        expected_type: type | None = type(value)
        nested: type | None = None
        is_variable = False
    else:
        if btype == "tuple" and isinstance(value, tuple):
            value = list(value)
        if btype == "float" and type(value) is int:
            value = float(value)
        expected_type = PY_TYPES.get(btype, str)
        nested_name = bfcl_type(prop.get("items")) if btype in ("array", "tuple") else None
        nested = PY_TYPES.get(nested_name) if nested_name else None
        ok, is_variable = _type_check(value, possible, expected_type, nested)
        if not ok:
            return f"wrong type for {param!r}: expected {btype}, got {type(value).__name__} ({value!r})"
    if isinstance(value, tuple):
        value = list(value)
    if not is_variable:
        if expected_type is dict and isinstance(value, dict):
            return _dict_check(param, value, possible)
        if expected_type is list and isinstance(value, list) and (
            nested is dict or (nested is None and value and all(isinstance(v, dict) for v in value))
        ):
            return _list_dict_check(param, value, possible)
        if expected_type is str and isinstance(value, str):
            if standardize_string(value) not in [standardize_string(p) for p in possible if isinstance(p, str)]:
                return f"invalid value for {param!r}: {value!r} not in {possible!r}"
            return None
        if expected_type is list and isinstance(value, list):
            if _std_list(value) not in [_std_list(p) for p in possible if isinstance(p, list | tuple)]:
                return f"invalid value for {param!r}: {value!r} not in {possible!r}"
            return None
    if value not in possible:
        return f"invalid value for {param!r}: {value!r} not in {possible!r}"
    return None


def _answer_type(possible: list[Any]) -> type | None:
    return next((type(p) for p in possible if p != ""), None)


def _type_check(value: Any, possible: list[Any], expected: type, nested: type | None) -> tuple[bool, bool]:
    """(valid, is_variable) as BFCL's type_checker decides them (nested types one level deep)."""
    answer_type = _answer_type(possible)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return True, is_variable
        items: Any = value  # of type `expected`, which has a nested type: a list
        for item in possible:
            if isinstance(item, list) and all(
                _type_check(v, item, nested, None)[0] for v in items
            ):
                return True, is_variable
        return False, is_variable
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, is_variable


def _std(value: Any) -> Any:
    return standardize_string(value) if isinstance(value, str) else value


def _std_list(values: Any) -> list[Any]:
    return [_std(v) for v in values]


def _dict_check(param: str, value: Mapping[str, Any], possible: list[Any]) -> str | None:
    error = f"invalid value for {param!r}: no allowed dict matches"
    for option in possible:
        if not isinstance(option, Mapping):
            continue
        error = _one_dict(param, value, option) or ""
        if not error:
            return None
    return error or None


def _one_dict(param: str, value: Mapping[str, Any], option: Mapping[str, Any]) -> str | None:
    for key, item in value.items():
        if key not in option:
            return f"unexpected key {key!r} in {param!r}"
        allowed = option[key] if isinstance(option[key], list) else [option[key]]
        if _std(item) not in [_std(a) for a in allowed]:
            return f"invalid value for {param}.{key}: {item!r} not in {allowed!r}"
    for key, allowed in option.items():
        if key not in value and "" not in (allowed if isinstance(allowed, list) else [allowed]):
            return f"missing key {key!r} in {param!r}"
    return None


def _list_dict_check(param: str, value: list[Any], possible: list[Any]) -> str | None:
    error = f"invalid value for {param!r}: no allowed list of dicts matches"
    for option in possible:
        if not isinstance(option, list) or len(option) != len(value):
            continue
        errors = [_one_dict(param, v, o) if isinstance(v, Mapping) and isinstance(o, Mapping) else "not a dict"
                  for v, o in zip(value, option, strict=True)]
        if not any(errors):
            return None
        error = next(e for e in errors if e)
    return error
