"""The phrasing pools: tool names in backticks, no phrase Agent-H counts as a call, balanced draws."""

from __future__ import annotations

import math
import re
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from agentflan.callsyntax import REACT_KEYWORDS
from agentflan.evaluate.agent_h import GENERAL_PHRASES
from agentflan.evaluate.agent_h import REACT_KEYWORDS as AGENT_H_REACT
from agentflan.phrasing import POOLS, render, say_nth

# Pools whose sentences name a tool, and the placeholder that holds the name(s).
TOOL_NAMING = {"elicit": "name", "missing_argument": "name", "irrelevant_tools_needs_tool": "tools"}


def test_no_template_uses_a_phrase_agent_h_scores() -> None:
    for pool, templates in POOLS.items():
        for template in templates:
            text = render(template, name="x", tools="`a` and `b`", need="do it", param="city", question="?")
            lowered = text.lower()
            assert not [p for p in GENERAL_PHRASES if p in lowered], (pool, template)
            assert not [k for k in (*REACT_KEYWORDS, *AGENT_H_REACT) if k in text], (pool, template)


def test_tool_names_are_in_backticks() -> None:
    for pool, slot in TOOL_NAMING.items():
        for template in POOLS[pool]:
            if slot == "name":
                assert "`{{ name }}`" in template, (pool, template)
                assert re.sub(r"`\{\{ name \}\}`", "", template).count("{{ name }}") == 0
            else:
                assert "{{ tools }}" in template, (pool, template)  # filled with backticked names


def test_pools_are_large_enough_for_the_five_percent_bar() -> None:
    # The second sentence of a negative reply is generic; 60 samples of a kind draw it at most
    # ceil(60 / len(pool)) times, which stays under 5% of them only with more than 20 templates.
    for pool in ("no_tools_offer", "irrelevant_tools_offer"):
        assert len(POOLS[pool]) > 20 and len(set(POOLS[pool])) == len(POOLS[pool])
        assert math.ceil(60 / len(POOLS[pool])) / 60 < 0.05


@given(st.integers(1, 200), st.integers(0, 5))
def test_balanced_draws_never_repeat_a_template_more_than_needed(n: int, seed: int) -> None:
    drawn = Counter(say_nth("elicit", i, seed, "p", name="t") for i in range(n))
    assert max(drawn.values()) == math.ceil(n / len(POOLS["elicit"]))
    assert say_nth("elicit", 3, seed, "p", name="t") == say_nth("elicit", 3, seed, "p", name="t")
