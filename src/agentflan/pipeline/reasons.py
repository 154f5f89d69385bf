"""What reject reasons mean, for the one line a command's summary prints about its rejects: a count with no
explanation ("rejected 520: over_cap=520") reads like data loss even when it is the recipe working as written.

>>> print(explain({"over_cap": 520}, "out/demo/rejects.jsonl"))
rejected 520: over_cap=520 (past an input's `cap` in the recipe: left out by design); each one with its file, line and reason in out/demo/rejects.jsonl
"""

from __future__ import annotations

from collections.abc import Mapping

# By reason, or by the part before the first ":" (``flagged:unknown_tool``, ``export:openai:...``).
GLOSSES = {
    "over_cap": "past an input's `cap` in the recipe: left out by design",
    "not_selected": "not needed to reach the recipe's counts",
    "held_out": "held out for evaluation by the recipe's held_out (in held_out.jsonl)",
    "flagged": "doubtful calls the recipe's agent.drop_flags leaves out",
    "no_tools": "tool-pool records that offer no tool",
    "align": "trajectories that cannot be rendered as a conversation",
    "general": "general records with no reply to train on",
    "negative": "negative samples that could not be made from that record",
    "export": "records an export format cannot express",
    "write": "records the output format cannot express",
    "empty_file": "empty input files",
    "truncated_json": "input records cut off (a partial write)",
    "invalid_json": "input records that are not JSON",
    "invalid_utf8": "input lines that are not UTF-8",
    "unknown_format": "records no reader recognises (give --from)",
    "non_finite_number": "NaN, Infinity or numbers too large for JSON",
    "number_too_large": "integers of more digits than allowed",
    "nesting_too_deep": "values nested deeper than allowed",
    "string_too_long": "strings longer than allowed",
    "lone_surrogate": "text with unpaired surrogates, which UTF-8 cannot hold",
    "record_too_large": "records larger than allowed",
    "unreadable": "damaged compressed input",
    "reader_error": "a reader failed: a bug, please report it",
    "write:writer_error": "a writer failed: a bug, please report it",
}
_SHOWN = 4


def gloss(reason: str) -> str | None:
    """What ``reason`` means, or None for a reader's own reasons (a field missing, of the wrong type...)."""
    return GLOSSES.get(reason) or GLOSSES.get(reason.split(":", 1)[0])


def explain(rejects_by_reason: Mapping[str, int], rejects_file: str) -> str:
    """One line: the count, the most frequent reasons with what they mean, and where every reject is listed."""
    total = sum(rejects_by_reason.values())
    if not total:
        return "rejected 0"
    ranked = sorted(rejects_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = []
    for reason, n in ranked[:_SHOWN]:
        meaning = gloss(reason) or "records the reader cannot use"
        parts.append(f"{reason}={n} ({meaning})")
    if len(ranked) > _SHOWN:
        parts.append(f"{len(ranked) - _SHOWN} more reason(s)")
    return f"rejected {total}: {', '.join(parts)}; each one with its file, line and reason in {rejects_file}"
