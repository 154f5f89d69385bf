"""`strictjson` reads and writes through orjson where it can; what it returns must be what the standard library
path returns, value for value (types included) and byte for byte, on any input."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan import strictjson
from agentflan.strictjson import JSONRejected

_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.floats(min_value=-1e-3, max_value=1e-3) | st.floats(min_value=1e14, max_value=1e18)
            | st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
_values = st.recursive(_scalars, lambda kids: st.lists(kids, max_size=4)
                       | st.dictionaries(st.text(max_size=5), kids, max_size=4), max_leaves=20)


def _same(a: object, b: object) -> bool:
    """Equal, with the same types throughout (1 is not 1.0) and -0.0 told from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)  # type: ignore[arg-type]
    return a == b


def _slow_line(value: object) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode()


@settings(max_examples=400, deadline=None)
@given(_values)
def test_writing_is_the_standard_librarys_bytes(value: object) -> None:
    assert strictjson.dumps_line(value) == _slow_line(value)
    assert strictjson.dumps(value) == _slow_line(value).decode()[:-1]


@settings(max_examples=400, deadline=None)
@given(_values)
def test_reading_gives_the_standard_librarys_values(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for given_as in (text, text.encode()):
        assert _same(strictjson.loads(given_as), json.loads(text))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_every_double_reads_and_writes_alike(bits: int) -> None:
    number = struct.unpack("d", struct.pack("Q", bits))[0]
    if not math.isfinite(number):
        return
    text = repr(number)
    assert _same(strictjson.loads(text), float(text))
    assert strictjson.dumps([number]) == json.dumps([number], separators=(",", ":"))


def _assert_read_as_the_slow_path_reads(data: str | bytes) -> None:
    """The fast path's value equals the standard library path's, or both refuse for the same reason."""
    try:
        expected = strictjson._loads_slow(data)
    except JSONRejected as exc:
        with pytest.raises(JSONRejected) as got:
            strictjson.loads(data)
        assert got.value.reason == exc.reason
    else:
        assert _same(strictjson.loads(data), expected)


@pytest.mark.parametrize("text", [
    "12345678901234567890123", "-9223372036854775809", "18446744073709551616", "9223372036854775807",
    "0.1234567890123456789012", "1e-7", "1E400", "-0", "-0.0", "[1e16, 1e-05, 123456789012345680.0]",
    '{"a": 1, "a": 2}', '"\\u0000\\u001f\\u2028"', "\ufeff[1]",
])
def test_numbers_and_strings_orjson_reads_otherwise(text: str) -> None:
    _assert_read_as_the_slow_path_reads(text)
    _assert_read_as_the_slow_path_reads(text.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_are_refused_for_the_same_reason(data: bytes) -> None:
    _assert_read_as_the_slow_path_reads(data)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": [float("-inf")]}, "\ud800", {1: "x"}, 2**80])
def test_what_orjson_would_write_differently_takes_the_standard_path(value: object) -> None:
    try:
        expected = _slow_line(value)
    except ValueError:
        with pytest.raises(JSONRejected):
            strictjson.dumps_line(value)
        return
    except UnicodeEncodeError:
        with pytest.raises(JSONRejected, match="lone_surrogate"):
            strictjson.dumps_line(value)
        return
    assert strictjson.dumps_line(value) == expected


def test_depth_past_the_limit_is_refused_on_the_fast_path() -> None:
    deep = "[" * (strictjson.MAX_DEPTH + 1) + "]" * (strictjson.MAX_DEPTH + 1)
    with pytest.raises(JSONRejected, match="nesting_too_deep"):
        strictjson.loads(deep.encode())
    ok = "[" * strictjson.MAX_DEPTH + "]" * strictjson.MAX_DEPTH
    assert strictjson.loads(ok) is not None


_risky = (_scalars | st.floats() | st.integers(-(2**3400), 2**3400) | st.text()
          | st.sampled_from(["\ud800", "x" * 40, float("nan"), 10**1001]))
_risky_values = st.recursive(_risky, lambda kids: st.lists(kids, max_size=4) | st.tuples(kids)
                             | st.dictionaries(st.text(max_size=5) | st.integers(), kids, max_size=4), max_leaves=20)


def _walked(value: object) -> str | None:
    """The reason the walk alone (without orjson vouching) rejects ``value``, or None."""
    try:
        strictjson._walk(value)
    except JSONRejected as exc:
        return exc.reason
    return None


@settings(max_examples=500, deadline=None)
@given(_risky_values, st.integers(0, 140))
def test_check_vouched_by_orjson_rejects_what_the_walk_rejects(value: object, depth: int) -> None:
    for _ in range(depth):
        value = [value]
    try:
        strictjson.check(value)
        got = None
    except JSONRejected as exc:
        got = exc.reason
    assert got == _walked(value)


def test_check_fast_path_keeps_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strictjson, "MAX_STRING_CHARS", 10)
    with pytest.raises(JSONRejected, match="string_too_long"):
        strictjson.check({"a": "x" * 11})
    assert strictjson.check({"a": "x" * 3}) == {"a": "x" * 3}


def _depth(value: object) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max((_depth(c) for c in children), default=0)


_nested = st.recursive(st.integers() | st.text(max_size=3), lambda kids: st.lists(kids, max_size=3)
                       | st.dictionaries(st.text(max_size=3), kids, max_size=3), max_leaves=60)


@settings(max_examples=300, deadline=None)
@given(_nested, st.integers(1, 12))
def test_the_depth_walk_refuses_exactly_what_is_nested_too_deep(value: object, limit: int) -> None:
    import unittest.mock

    with unittest.mock.patch.object(strictjson, "MAX_DEPTH", limit):
        if _depth(value) > limit:
            with pytest.raises(JSONRejected, match="nesting_too_deep"):
                strictjson._check_depth(value)
        else:
            strictjson._check_depth(value)


@settings(max_examples=300, deadline=None)
@given(_risky_values | st.binary(max_size=40), st.booleans())
def test_probing_a_line_for_an_object_agrees_with_the_standard_library(value: object, bom: bool) -> None:
    """`sources.container` probes lines with orjson first; whether a line holds a non-empty object is what the
    standard library alone says."""
    from agentflan.pipeline.sources import BOM, _is_object_line

    if isinstance(value, bytes):
        line = value
    else:
        try:
            line = json.dumps(value).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError):
            return
    line = (BOM if bom else b"") + line + b"\n"
    try:
        parsed = json.loads(line.removeprefix(BOM))
    except (ValueError, RecursionError):
        expected = False
    else:
        expected = isinstance(parsed, dict) and bool(parsed)
    assert _is_object_line(line) is expected
