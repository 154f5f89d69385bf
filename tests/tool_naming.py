"""Tool-naming sentences as `build` writes them, drawn from the phrasing pools (test helper).

Tests never hard-code one: the pools change (their phrasings are rewritten to avoid the phrases Agent-H scores),
and the reader derives its recogniser from them, so tests take their sentences from the same place.
"""

from __future__ import annotations


def tool_naming(name: str, k: int = 0) -> str:
    """The ``k``-th tool-naming template of `phrasing.POOLS` (cyclically), naming ``name``."""
    from agentflan.calls.conversation import tool_naming_pools
    from agentflan.phrasing import render

    templates = [t for pool in tool_naming_pools().values() for t in pool]
    return render(templates[k % len(templates)], name=name)
