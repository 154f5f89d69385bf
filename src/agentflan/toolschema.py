"""Tool parameter schemas: normalising the dialects found in real corpora to JSON Schema, and checking a call's
arguments against them.

BFCL writes ``"type": "dict"`` (and ``float``, ``tuple``, ``any``, ``integer``...), ToolBench writes
``"NUMBER"``/``"STRING"``; JSON Schema says ``object``/``number``/``array``. Readers normalise once so that
everything downstream (validation, audit, eval, chat templates) sees one dialect. The original type name is kept
in ``x-original-type`` so nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_TYPE_ALIASES: dict[str, str] = {
    "dict": "object",
    "object": "object",
    "map": "object",
    "float": "number",
    "double": "number",
    "number": "number",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "str": "string",
    "string": "string",
    "text": "string",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "tuple": "array",
    "null": "null",
    "none": "null",
}


def normalise_type(name: Any) -> str | None:
    """Map a dialect's type name to JSON Schema, or ``None`` for "any"/unknown (which accepts everything)."""
    if not isinstance(name, str):
        return None
    return _TYPE_ALIASES.get(name.strip().lower())


def normalise_schema(schema: Any) -> dict[str, Any]:
    """Return a JSON-Schema copy of a parameter schema in any common dialect (never mutates the input)."""
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            if isinstance(value, list):
                mapped = [normalise_type(v) for v in value]
                if all(mapped):
                    out["type"] = mapped
                else:
                    out["x-original-type"] = value
                continue
            mapped_one = normalise_type(value)
            if mapped_one is None:
                out["x-original-type"] = value  # "any" and unknown names: no type constraint
            else:
                out["type"] = mapped_one
                if isinstance(value, str) and value != mapped_one:
                    out["x-original-type"] = value
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: normalise_schema(v) for k, v in value.items()}
        elif key == "items":
            out[key] = normalise_schema(value) if isinstance(value, dict) else value
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = normalise_schema(value)
        else:
            out[key] = value
    if "properties" in out and "type" not in out and "x-original-type" not in out:
        out["type"] = "object"
    return out


@dataclass(frozen=True)
class ArgumentProblem:
    code: str  # missing_required | wrong_type | unknown_key | not_in_enum
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code} at {self.path or '<root>'}: {self.detail}"


def _matches_type(value: Any, expected: str) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "null":
        return value is None
    return True


def check_arguments(arguments: Any, schema: dict[str, Any], path: str = "") -> list[ArgumentProblem]:
    """Problems of ``arguments`` against a normalised schema: missing required keys, wrong types, keys the
    schema does not declare (when it declares properties), values outside an enum. Empty list = valid."""
    problems: list[ArgumentProblem] = []
    expected = schema.get("type")
    expected_types = expected if isinstance(expected, list) else [expected] if expected else []
    if expected_types and not any(_matches_type(arguments, t) for t in expected_types):
        problems.append(
            ArgumentProblem("wrong_type", path, f"expected {'|'.join(expected_types)}, got {type(arguments).__name__}")
        )
        return problems
    if "enum" in schema and isinstance(schema["enum"], list) and arguments not in schema["enum"]:
        problems.append(ArgumentProblem("not_in_enum", path, f"{arguments!r} not in {schema['enum']!r}"))
    if isinstance(arguments, dict):
        properties = schema.get("properties")
        required = schema.get("required") or []
        if isinstance(required, list):
            for key in required:
                if isinstance(key, str) and key not in arguments:
                    problems.append(ArgumentProblem("missing_required", _join(path, key), "required argument missing"))
        if isinstance(properties, dict):
            for key, value in arguments.items():
                if key in properties:
                    sub = properties[key]
                    if isinstance(sub, dict):
                        problems.extend(check_arguments(value, sub, _join(path, key)))
                elif schema.get("additionalProperties") is not True and properties:
                    problems.append(ArgumentProblem("unknown_key", _join(path, key), "not declared by the tool"))
    elif isinstance(arguments, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(arguments):
            problems.extend(check_arguments(item, schema["items"], f"{path}[{i}]"))
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def required_arguments(schema: dict[str, Any]) -> list[str]:
    required = schema.get("required") or []
    return [k for k in required if isinstance(k, str)]


def _json_type(value: Any) -> str | None:
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str), ("array", list),
                        ("object", dict)):
        if isinstance(value, types):
            return kind
    return None


def schema_from_examples(examples: list[dict[str, Any]]) -> dict[str, Any]:
    """A parameter schema that says only what observed calls show: argument names and value types (a name seen
    with values of several types gets no type), nothing required. For corpora whose tools are code, not data."""
    properties: dict[str, dict[str, Any]] = {}
    for args in examples:
        for key, value in args.items():
            kind = _json_type(value)
            prop = properties.setdefault(key, {"type": kind} if kind else {})
            if prop.get("type") not in (None, kind):
                prop.pop("type")
    return {"type": "object", "properties": properties}
