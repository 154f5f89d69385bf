"""Strict JSON, the only kind agentflan reads or writes: what Python's `json` accepts beyond the standard (NaN,
Infinity, numbers that overflow to infinity, lone surrogates) and what would crash later (integers too long to
print, nesting deeper than the interpreter's recursion limit, strings of any size) is refused with a reason.

A refusal is a `JSONRejected`, a `json.JSONDecodeError`, so code that already catches decoding errors catches it
too; its ``reason`` is a short stable code for ``rejects_by_reason``.

>>> loads('{"a": [1, 2.5, "x"]}')
{'a': [1, 2.5, 'x']}
>>> try:
...     loads('{"a": NaN}')
... except JSONRejected as exc:
...     print(exc)
non_finite_number: NaN is not JSON
>>> dumps({"b": 1, "a": "é"})
'{"b":1,"a":"é"}'

Both directions go through orjson first, for speed, and fall back to the standard library wherever orjson would
give a different value or different bytes (integers past 64 bits, the float notation of very small and very
large numbers, a NaN, which orjson writes as null) or refuses the input (then the standard library's error
names the reason). The results are those of the standard library, byte for byte; a test compares them.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

# Far beyond any real corpus, far below what breaks Python: json's recursion limit (~1,000 levels, less on a
# deep stack) and int's 4,300-digit conversion limit. Every value is checked against them, so the code after
# a reader (pydantic, schema normalisation, the writers) never meets a value it cannot handle.
MAX_DEPTH = 128
MAX_INT_DIGITS = 1000
MAX_STRING_CHARS = 16 * 1024 * 1024

BOM = "\ufeff"

# Text that may hold a value the walk must look at: long digit runs (huge integers, floats that overflow),
# large exponents, escaped surrogates. Absent all of them (and short of the depth and length limits), the
# parsed value is fine as it is, which spares the walk on almost every real record.
_SUSPECT = re.compile(r"[0-9]{300}|[eE][+-]?[0-9]{3}|\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# orjson reads an integer past 64 bits as a float: a text with a run of 19 digits or more is left to the
# standard library (found by mapping every digit to "0", which is fast, then searching for the run).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19
_MAX_INT_BITS = math.ceil(MAX_INT_DIGITS * math.log2(10))
_CONTAINERS = (dict, list)  # what orjson decodes containers to


class JSONRejected(json.JSONDecodeError):
    """A text that is not strict JSON, or a value beyond the limits. ``reason``: ``invalid_json``,
    ``truncated_json``, ``invalid_utf8``, ``non_finite_number``, ``number_too_large``, ``nesting_too_deep``,
    ``string_too_long`` or ``lone_surrogate``."""

    def __init__(self, reason: str, detail: str, pos: int = 0, line: int | None = None) -> None:
        super().__init__(detail, "", 0)
        self.reason = reason
        self.detail = detail
        self.position = pos
        self.line = line  # of a syntax error, in a text of several lines

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, for worker processes
        return (JSONRejected, (self.reason, self.detail, self.position, self.line))


def _no_constant(name: str) -> Any:
    raise JSONRejected("non_finite_number", f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """Decode one JSON text strictly (a leading BOM is ignored); raises `JSONRejected`."""
    data = text if isinstance(text, bytes) else None
    if data is None and isinstance(text, str):
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate in the text: the slow path names it
            data = None
    if data is not None and data.translate(_DIGITS_AS_ZERO).find(_LONG_DIGITS) < 0:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library says why, with the reasons agentflan reports
        else:
            # orjson refuses non-finite numbers and lone surrogates itself; what is left is the length of the
            # strings and the depth.
            if len(data) > MAX_STRING_CHARS:
                check(value)
            elif data.count(b"[") + data.count(b"{") > MAX_DEPTH:
                _check_depth(value)
            return value
    return _loads_slow(text)


def _loads_slow(text: str | bytes) -> Any:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONRejected("invalid_utf8", f"byte {exc.start}: {exc.reason}", exc.start) from None
    text = text.removeprefix(BOM)
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except JSONRejected:
        raise
    except json.JSONDecodeError as exc:
        # A value cut off before the end of the text is a truncation (a partial write); anything else is malformed.
        at_end = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        where = f"line {exc.lineno} column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        raise JSONRejected("truncated_json" if at_end else "invalid_json", f"{exc.msg} at {where}", exc.pos,
                           exc.lineno) from None
    except RecursionError:
        raise JSONRejected("nesting_too_deep", f"nested deeper than the {MAX_DEPTH} levels allowed") from None
    except ValueError as exc:  # int() past Python's digit limit
        raise JSONRejected("number_too_large", f"an integer has more than {MAX_INT_DIGITS} digits ({exc})") from None
    if (_SUSPECT.search(text) is not None or len(text) > MAX_STRING_CHARS
            or text.count("[") + text.count("{") > MAX_DEPTH):
        check(value)
    return value


def check(value: Any) -> Any:
    """``value`` itself when every part of it is within strict JSON and the limits (for values decoded by other
    parsers: ijson, Parquet); raises `JSONRejected` naming the first problem. Iterative, so depth cannot crash it."""
    return value if _vouched(value) else _walk(value)


def _walk(value: Any) -> Any:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, list | tuple):
            items = enumerate(node)
        else:
            _check_scalar(node)
            continue
        if depth > MAX_DEPTH:
            raise JSONRejected("nesting_too_deep", f"nested deeper than the {MAX_DEPTH} levels allowed")
        for key, child in items:
            if isinstance(key, str):
                _check_scalar(key)
            if isinstance(child, dict | list | tuple):
                stack.append((child, depth + 1))
            else:
                _check_scalar(child)
    return value


def _vouched(value: Any) -> bool:
    """Whether orjson's encoding of ``value`` shows it within the limits, which spares the walk (convert checks
    every call's arguments and tool schema it read): orjson refuses lone surrogates, integers past 64 bits and
    nesting past 254 levels, and writes NaN and infinities as ``null`` (so a ``null`` leaves it to the walk);
    a short encoding has no long string, and one with few brackets no deep nesting."""
    try:
        out = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return (len(out) <= MAX_STRING_CHARS and b"null" not in out
            and out.count(b"[") + out.count(b"{") <= MAX_DEPTH)


def _check_depth(value: Any) -> None:
    """`check` of the nesting alone (containers only: the scalars of an orjson value are already strict)."""
    # level by level: one list per level, not a tuple per container (ToolBench's answer files: 1,000s each);
    # `isinstance` with a tuple of types, which takes two thirds of the time it takes with `dict | list`
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 1
    while level:
        if depth > MAX_DEPTH:
            raise JSONRejected("nesting_too_deep", f"nested deeper than the {MAX_DEPTH} levels allowed")
        level = [c for node in level for c in (node.values() if isinstance(node, dict) else node)
                 if isinstance(c, _CONTAINERS)]
        depth += 1


def _check_scalar(value: Any) -> None:
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise JSONRejected("string_too_long", f"a string of {len(value):,} characters (at most "
                               f"{MAX_STRING_CHARS:,})")
        if _SURROGATE.search(value) is not None:
            raise _surrogate()
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise JSONRejected("non_finite_number", f"{value} is not JSON (a number too large for a float, or "
                               "NaN/Infinity)")
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_INT_BITS:
        raise JSONRejected("number_too_large", f"an integer has more than {MAX_INT_DIGITS} digits")


def dumps(value: Any) -> str:
    """The one compact encoding of every output line (key order as given); raises `JSONRejected` for a value
    that strict JSON cannot hold, instead of writing it."""
    fast = _orjson_dumps(value)
    if fast is not None:
        return fast.decode("utf-8")
    text = _dumps(value)
    if _SURROGATE.search(text) is not None:
        raise _surrogate()
    return text


def dumps_line(value: Any) -> bytes:
    """`dumps` as one UTF-8 line, ready for a JSON Lines file."""
    fast = _orjson_dumps(value)
    if fast is not None:
        return fast + b"\n"
    try:
        return (_dumps(value) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        raise _surrogate() from None


def _orjson_dumps(value: Any) -> bytes | None:
    """orjson's encoding when it is byte for byte the standard library's, else None. orjson writes a NaN as
    ``null`` and small or large floats in another notation (``1e-7`` for ``1e-07``, ``0.00001`` for ``1e-05``):
    an output holding ``null``, a digit before an ``e`` or ``0.0000`` is left to the standard library, which
    is rare in agent data and always right."""
    try:
        out = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # non-string keys, integers past 64 bits, surrogates, objects
        return None
    if b"null" in out or b"0.0000" in out or out.translate(_DIGITS_AS_ZERO).find(b"0e") >= 0:
        return None
    return out


def _surrogate() -> JSONRejected:
    return JSONRejected("lone_surrogate", "a string holds an unpaired UTF-16 surrogate, which UTF-8 cannot encode")


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except RecursionError:
        raise JSONRejected("nesting_too_deep", f"nested deeper than the {MAX_DEPTH} levels allowed") from None
    except ValueError as exc:
        reason = "number_too_large" if "digits" in str(exc) else "non_finite_number"
        raise JSONRejected(reason, str(exc)) from None
    except TypeError as exc:
        raise JSONRejected("not_json", str(exc)) from None
