"""YAML configuration shared by every command that takes a file: load, apply ``--set dotted.key=value``
overrides, validate with pydantic, and report problems naming the file and the field.

>>> from pydantic import BaseModel
>>> class Cfg(BaseModel):
...     lr: float = 1e-5
...     data: dict = {}
>>> apply_overrides({"lr": 1e-5}, ["lr=2e-5", "data.path=x.jsonl"])
{'lr': 2e-05, 'data': {'path': 'x.jsonl'}}
>>> apply_overrides({"inputs": [{"path": "a"}]}, ["inputs.0.cap=10"])
{'inputs': [{'path': 'a', 'cap': 10}]}
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from agentflan.errors import ConfigError, UsageError

M = TypeVar("M", bound=BaseModel)

_SCIENTIFIC = re.compile(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=value`` → (["a", "b"], value parsed as YAML, so numbers, booleans and lists get their types).
    A malformed override is a `UsageError` (exit 2), as the command line is what is wrong.

    >>> parse_override("train.lr=2e-5")
    (['train', 'lr'], 2e-05)
    >>> parse_override("a..b=1")
    Traceback (most recent call last):
    ...
    agentflan.errors.UsageError: --set 'a..b=1': empty key segment; expected dotted.key=value
    """
    if "=" not in text:
        raise UsageError(f"--set {text!r}: expected dotted.key=value")
    key, raw = text.split("=", 1)
    if not key.strip():
        raise UsageError(f"--set {text!r}: empty key; expected dotted.key=value")
    keys = [k.strip() for k in key.split(".")]
    if not all(keys):
        raise UsageError(f"--set {text!r}: empty key segment; expected dotted.key=value")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str) and _SCIENTIFIC.fullmatch(raw.strip()):
        # YAML 1.1 reads "2e-5" (no dot) as a string; a learning rate on the command line means the number.
        value = float(raw)
    return keys, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set each ``dotted.key=value``; a numeric key indexes an existing list (``agent.inputs.0.cap=10``)."""
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = data
        for k in keys[:-1]:
            if isinstance(node, list):
                node = node[_index(node, k, text)]
                continue
            child = node.get(k)
            if not isinstance(child, dict | list):
                child = {}
                node[k] = child
            node = child
        if isinstance(node, list):
            node[_index(node, keys[-1], text)] = value
        else:
            node[keys[-1]] = value
    return data


def _index(items: list[Any], key: str, text: str) -> int:
    if not key.isdigit() or int(key) >= len(items):
        raise UsageError(f"--set {text!r}: {key!r} is not an index of a list of {len(items)} item(s)")
    return int(key)


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a text file (byte {exc.start} is not UTF-8); expected a YAML file") from None
    if "\x00" in text:
        raise ConfigError(f"{p}: not a text file (it holds NUL bytes); expected a YAML file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"{p}: not valid YAML: nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of settings, got {type(data).__name__}")
    return data


def format_validation_error(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = "unknown key (not a setting of this file)" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {field}: {msg}")
    return "\n".join(lines)


def validate(model: type[M], data: dict[str, Any], source: str) -> M:
    """``data`` as ``model``; `ConfigError` naming each invalid field, including any number that is not finite
    (``.inf``, ``.nan``, ``1e999``): no setting means infinity, and a manifest cannot hold one."""
    _refuse_non_finite(data, source)
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None
    _refuse_non_finite(validated.model_dump(), source)  # "inf" given as a string becomes a float here
    return validated


def _refuse_non_finite(data: Any, source: str) -> None:
    bad = sorted(".".join(map(str, where)) or "<root>" for where in _non_finite(data, ()))
    if bad:
        raise ConfigError("\n".join([f"{source}: invalid configuration",
                                     *(f"  {f}: must be a finite number" for f in bad)]))


def _non_finite(value: Any, where: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where]
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in _non_finite(v, (*where, k))]
    if isinstance(value, list | tuple):
        return [w for i, v in enumerate(value) for w in _non_finite(v, (*where, i))]
    return []


def load_config(path: str | Path, model: type[M], overrides: list[str] | None = None) -> M:
    """Read ``path``, apply ``overrides``, validate against ``model`` (which should forbid extra keys)."""
    data = apply_overrides(load_yaml(path), overrides or [])
    return validate(model, data, str(path))
