"""Argument grounding: is a call's argument value found in (or does it follow from) the context the call was
made in? One definition serves `build` (format-following samples and missing-argument negatives use only
grounded calls) and `audit` (the share of argument values that are not grounded), so the two always agree.

A value is *grounded* when

- a string: every word of it occurs in the context (case-insensitive; word order and punctuation may differ,
  so ``"Meeting with John at the office"`` is grounded in ``called "Meeting with John" at the office``);
- a number: it is written in the context, as digits (``4``, ``1,000``, ``15.99``) or as a word (``four``);
- a date or time: the same day (and year, when the value has one) or the same clock time is written in the
  context in any common form (``2024-05-03``, ``3 May 2024``, ``May 3rd, 2024``, ``05/03/2024``; ``19:30``,
  ``7:30 pm``, ``7pm``).

Booleans and nulls are not checked: ``true`` for a flag is a decision, not a value taken from anywhere.

>>> ctx = Context("Book a table for four at Trattoria Sole on May 3rd, 2024 at 7:30 pm.")
>>> [ctx.grounded(v) for v in ("Trattoria Sole", 4, "2024-05-03", "19:30", "user1pass")]
[True, True, True, True, False]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from agentflan.callsyntax import json_values
from agentflan.schema import Message, Tool, Trajectory

_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")
_NUMBER_WORDS = {w: i for i, w in enumerate(re.findall(r"\w+", """zero one two three four five six seven eight nine
ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"""))} | {
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000, "once": 1, "twice": 2, "single": 1, "double": 2, "dozen": 12, "pair": 2}
_MONTHS = {m: i + 1 for i, m in enumerate(re.findall(
    r"\w+", "january february march april may june july august september october november december"))}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}

_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_CTX_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_CTX_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")
_CTX_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({_MONTH_NAMES})\.?(?:,?\s+(\d{{4}}))?\b")
_CTX_MONTH_DAY = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?")
_CTX_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s*(a\.?m\.?|p\.?m\.?)?(?![\w:])")


def words(text: str) -> list[str]:
    """Lower-cased words and numbers of ``text`` (numbers keep their inner separators: ``1,000``, ``15.99``)."""
    return _WORD.findall(text.casefold())


def _number_forms(token: str) -> set[str]:
    """A number token as it may be compared: ``1,000`` → {``1,000``, ``1000``}; ``3.0`` → {``3.0``, ``3``}."""
    forms = {token, token.replace(",", "")}
    for f in list(forms):
        try:
            value = float(f)
        except ValueError:
            continue
        if not math.isfinite(value):  # "nan", "inf", "Infinity" parse as floats but are words, not numbers
            continue
        forms.add(repr(value))
        if value == int(value):
            forms.add(str(int(value)))
    return forms


def _number_text(value: int | float) -> set[str]:
    value = abs(value)  # the sign is not a word: "-1" is found as "1"
    forms = {str(value), repr(float(value))}
    if float(value) == int(value):
        forms.add(str(int(value)))
    return forms


@dataclass
class Context:
    """The text a call was made in, prepared once for many lookups."""

    text: str

    @cached_property
    def _words(self) -> set[str]:
        found: set[str] = set()
        for token in words(self.text):
            found.add(token)
            if token[0].isdigit():
                found |= _number_forms(token)
            elif token in _NUMBER_WORDS:
                found.add(str(_NUMBER_WORDS[token]))
        return found

    @cached_property
    def _dates(self) -> set[tuple[int | None, int, int]]:
        """(year or None, month, day) of every date written in the context."""
        text = self.text.casefold()
        found: set[tuple[int | None, int, int]] = set()
        for y, m, d in _CTX_ISO.findall(text):
            found.add((int(y), int(m), int(d)))
        for a, b, y in _CTX_NUMERIC.findall(text):
            year = (int(y) + 2000 if len(y) == 2 else int(y)) if y else None
            found |= {(year, int(a), int(b)), (year, int(b), int(a))}  # US and European order alike
        for d, mon, y in _CTX_DAY_MONTH.findall(text):
            found.add((int(y) if y else None, _MONTHS[mon], int(d)))
        for mon, d, y in _CTX_MONTH_DAY.findall(text):
            found.add((int(y) if y else None, _MONTHS[mon], int(d)))
        return {(y, m, d) for y, m, d in found if 1 <= m <= 12 and 1 <= d <= 31}

    @cached_property
    def _times(self) -> set[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        for h, mi, ampm in _CTX_TIME.findall(self.text.casefold()):
            hour, minute = int(h), int(mi or 0)
            if not mi and not ampm:
                continue  # a bare number is not a time
            if ampm:
                hour = hour % 12 + (12 if ampm.startswith("p") else 0)
            if hour < 24 and minute < 60:
                found.add((hour, minute))
        return found

    def _date_written(self, year: int, month: int, day: int) -> bool:
        return (year, month, day) in self._dates or ((None, month, day) in self._dates and str(year) in self._words)

    def grounded(self, value: Any) -> bool:
        """Whether ``value`` (a scalar argument value) is found in, or follows from, the context."""
        if value is None or isinstance(value, bool):
            return True
        if isinstance(value, int | float):
            return bool(_number_text(value) & self._words)
        if not isinstance(value, str):
            return True
        text = value.strip()
        if not text:
            return True
        iso = _ISO_DATE.match(text)
        if iso:
            y, mo, d, h, mi = iso.groups()
            day_ok = self._date_written(int(y), int(mo), int(d))
            return day_ok and (h is None or (int(h), int(mi)) in self._times or f"{int(h)}:{mi}" in self.text)
        clock = _TIME.match(text)
        if clock:
            return (int(clock.group(1)), int(clock.group(2))) in self._times
        tokens = words(text)
        if not tokens:
            return text in self.text
        return all(t in self._words or bool(_number_forms(t) & self._words) for t in tokens)


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every scalar inside a call's arguments: ``{"a": [{"b": 1}]}`` → ``("a[0].b", 1)``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    elif value is not None and not isinstance(value, bool):
        yield path, value


def ungrounded(arguments: Any, context: Context) -> list[tuple[str, Any]]:
    """The (path, value) leaves of ``arguments`` that the context does not ground."""
    return [(path, v) for path, v in leaves(arguments) if not context.grounded(v)]


def tools_text(tools: list[Tool]) -> str:
    """What a model is told about its tools: names, descriptions and schemas (enum values, defaults)."""
    return "\n".join(f"{t.name} {t.description} {json.dumps(t.parameters, ensure_ascii=False)}" for t in tools)


def message_text(msg: Message) -> str:
    """A message as context: its text and its calls' names and arguments."""
    calls = " ".join(f"{c.name} {json.dumps(c.arguments, ensure_ascii=False)}" for c in msg.tool_calls)
    return f"{msg.content} {calls}".strip()


def written_calls(msg: Message) -> list[Any]:
    """The arguments of every call an assistant message makes: its native calls, and the JSON objects its text
    writes (a format-following target, ReAct's ``Action Input``)."""
    found: list[Any] = [c.arguments for c in msg.tool_calls]
    found += [v for v, _, _ in json_values(msg.content) if isinstance(v, dict)]
    return found


@dataclass(frozen=True)
class Finding:
    message: int
    path: str
    value: Any


def check(traj: Trajectory) -> tuple[int, list[Finding]]:
    """(argument values checked, the ungrounded ones) over every call of ``traj``, each against everything
    before its message: the tools, and the text and calls of the earlier turns."""
    checked = 0
    found: list[Finding] = []
    context_parts = [tools_text(traj.tools)]
    for index, msg in enumerate(traj.messages):
        if msg.role == "assistant":
            calls = written_calls(msg)
            if calls:
                context = Context("\n".join(context_parts))
                for arguments in calls:
                    for path, value in leaves(arguments):
                        checked += 1
                        if not context.grounded(value):
                            found.append(Finding(index, path, value))
        context_parts.append(message_text(msg))
    return checked, found
