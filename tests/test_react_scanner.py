"""The ReAct section scanner (`callsyntax.react_sections`) matches its keyword pattern at each line start instead
of scanning with a multi-line pattern; it must split every text exactly as the multi-line pattern does."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.callsyntax import _REACT_KEYS, react_sections

_MULTILINE = re.compile(r"^[ \t]*(?P<key>" + "|".join(f"(?:{v})" for v in _REACT_KEYS.values())
                        + r")(?:[ \t]+\d+)?[ \t]*:[ \t]?", re.MULTILINE)


def _reference(text: str) -> list[tuple[str, str, int, int]]:
    """The scanner as it was: one multi-line pattern over the whole text."""
    matches = list(_MULTILINE.finditer(text))
    if not matches:
        return [("preamble", text, 0, len(text))] if text else []
    sections = []
    if matches[0].start() > 0:
        sections.append(("preamble", text[: matches[0].start()], 0, matches[0].start()))
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        name = next(n for n, p in _REACT_KEYS.items() if re.fullmatch(p, m.group("key")))
        end = nxt.start() if nxt else len(text)
        sections.append((name, text[m.end(): end], m.end(), end))
    return sections


_PIECES = st.sampled_from(["Thought", "THOUGHT", "Think", "Action", "Action Input", "Action input", "ACTION", "Act",
                           "Final Answer", "FINAL ANSWER", ":", ": ", " 2:", "\n", "\r\n", " ", "\t", "x", "search[q]",
                           '{"a": 1}', "Observation:", "é", "Thought 1", "  Action:"])


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_sections_are_those_of_the_multiline_pattern(text: str) -> None:
    assert react_sections(text) == _reference(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    assert react_sections(text) == _reference(text)
