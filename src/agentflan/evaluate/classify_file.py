"""`agentflan eval classify`: label the replies in a JSONL file, rejecting bad lines with file/line/reason.

Input lines: ``{"id", "reply", "tools"?: [functions], "expected"?: [calls] or []}`` (``reply`` a string or an
assistant message). Output lines: the input plus ``outcome``, ``calls`` (and ``detail``, ``shape``,
``hallucination`` when they apply). ``OUT.rejects.jsonl`` holds every line that could not be classified;
``read == written + rejected``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan.errors import RecordError
from agentflan.evaluate.classify import OUTCOMES, classify
from agentflan.pipeline.convert import sidecar
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.sinks import RecordSink
from agentflan.pipeline.sources import Reject, iter_records


@dataclass
class ClassifyCounts:
    read: int = 0
    written: int = 0
    rejected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    rejects_by_reason: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "written": self.written, "rejected": self.rejected,
                "outcomes": {o: self.outcomes.get(o, 0) for o in OUTCOMES},
                "rejects_by_reason": dict(sorted(self.rejects_by_reason.items()))}


def check_line(value: Any) -> dict[str, Any]:
    """The fields of one input line, or a `RecordError` naming the bad field."""
    if not isinstance(value, dict):
        raise RecordError("wrong_type", f"a line must be a JSON object, got {type(value).__name__}")
    if "reply" not in value:
        raise RecordError("missing_field", "reply is missing", "reply")
    if value["reply"] is not None and not isinstance(value["reply"], str | dict):
        raise RecordError("wrong_type", f"reply should be a string or a message, got {type(value['reply']).__name__}",
                          "reply")
    for key in ("tools", "expected"):
        if value.get(key) is not None and not (
            isinstance(value[key], list) and all(isinstance(x, dict) for x in value[key])
        ):
            raise RecordError("wrong_type", f"{key} should be a list of objects", key)
    for i, item in enumerate(value.get("expected") or []):
        plain = isinstance(item.get("name"), str) and isinstance(item.get("arguments", {}), dict)
        bfcl = len(item) == 1 and all(isinstance(v, dict) and all(isinstance(a, list) for a in v.values())
                                      for v in item.values())
        if not (plain or bfcl):
            raise RecordError("bad_expected", f"expected[{i}] is neither {{name, arguments}} nor "
                              "{tool: {arg: [allowed values]}}", f"expected[{i}]")
    if "id" in value and not isinstance(value["id"], str | int):
        raise RecordError("wrong_type", "id should be a string or a number", "id")
    return value


def classify_file(path: Path, out: Path, show_progress: bool = True) -> tuple[ClassifyCounts, Path]:
    counts = ClassifyCounts()
    rejects_path = sidecar(out, ".rejects.jsonl")
    with RecordSink(out) as sink, RecordSink(rejects_path) as rejects, \
            RecordProgress("classify", enabled=show_progress) as progress:
        for rec in iter_records(path):
            counts.read += 1
            progress.advance()
            if isinstance(rec, Reject):
                counts.rejected += 1
                counts.rejects_by_reason[rec.reason] += 1
                rejects.write(rec.to_dict())
                continue
            try:
                line = check_line(rec.value)
                result = classify(line["reply"], line.get("tools"), line.get("expected"))
            except RecordError as err:
                counts.rejected += 1
                counts.rejects_by_reason[err.reason] += 1
                rejects.write(Reject(str(path), err.reason, err.detail, line=rec.line, index=rec.index,
                                     field=err.field, raw=rec.value).to_dict())
                continue
            counts.written += 1
            counts.outcomes[result.outcome] += 1
            sink.write({**line, **result.to_dict()})
    return counts, rejects_path
