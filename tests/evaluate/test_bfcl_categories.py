"""Choosing BFCL categories by name: every single-turn one, and a clear refusal for those not scored yet."""

from __future__ import annotations

import pytest

from agentflan.errors import UsageError
from agentflan.evaluate.bfcl import CATEGORIES, categories_for


def test_names_select_categories_once_in_order() -> None:
    assert categories_for(["bfcl"]) == list(CATEGORIES)
    assert categories_for(["bfcl.irrelevance", "bfcl:simple_python", "bfcl.irrelevance"]) == ["irrelevance",
                                                                                             "simple_python"]


@pytest.mark.parametrize("name", ["bfcl:memory_kv", "bfcl.web_search", "bfcl.format_sensitivity"])
def test_categories_not_scored_are_refused_with_the_reason(name: str) -> None:
    with pytest.raises(UsageError, match="not scored by agentflan yet"):
        categories_for([name])


def test_unknown_category_lists_the_choices() -> None:
    with pytest.raises(UsageError, match="choose from: irrelevance"):
        categories_for(["bfcl.nope"])
