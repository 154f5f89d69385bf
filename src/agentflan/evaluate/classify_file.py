"""`agentflan eval classify`: label the replies in a JSONL file, rejecting bad lines with file/line/reason.

Input lines: ``{"id", "reply", "tools"?: [functions], "expected"?: [calls] or []}`` (``reply`` a string, an
assistant message, or a list of consecutive assistant turns). Output lines: the input plus ``outcome``, ``calls``
(and ``detail``, ``syntax``, ``safety_rule``, ``hallucination`` when they apply). ``OUT.rejects.jsonl`` holds
every line that could not be classified, with its reason; one bad line never stops the file, and
``read == written + rejected``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan.errors import RecordError
from agentflan.evaluate.classify import OUTCOMES, Reader, classify
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.run import RunDir
from agentflan.pipeline.sinks import RecordSink, dumps
from agentflan.pipeline.sources import Reject, SourceRecord


@dataclass
class ClassifyCounts:
    read: int = 0
    written: int = 0
    rejected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    syntaxes: Counter[str] = field(default_factory=Counter)  # replies per syntax read (calls or attempts)
    safety_rule: int = 0  # replies malformed by the safety rule
    rejects_by_reason: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "written": self.written, "rejected": self.rejected,
                "outcomes": {o: self.outcomes.get(o, 0) for o in OUTCOMES},
                "syntaxes": dict(self.syntaxes.most_common()), "safety_rule_malformed": self.safety_rule,
                "rejects_by_reason": dict(sorted(self.rejects_by_reason.items()))}


def check_line(value: Any) -> dict[str, Any]:
    """The fields of one input line, or a `RecordError` naming the bad field."""
    if not isinstance(value, dict):
        raise RecordError("wrong_type", f"a line must be a JSON object, got {type(value).__name__}")
    if "reply" not in value:
        raise RecordError("missing_field", "reply is missing", "reply")
    reply = value["reply"]
    turns = reply if isinstance(reply, list) else [reply]
    for i, turn in enumerate(turns):
        where = f"reply[{i}]" if isinstance(reply, list) else "reply"
        if turn is None and not isinstance(reply, list):
            continue
        if not isinstance(turn, str | dict):
            raise RecordError("wrong_type", f"{where} should be a string or a message, got {type(turn).__name__}",
                              where)
        content = turn.get("content") if isinstance(turn, dict) else None
        if content is not None and not isinstance(content, str | list):
            raise RecordError("wrong_type", f"{where}.content should be a string, a list of parts or null, got "
                              f"{type(content).__name__}", f"{where}.content")
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


# A reply the parser cannot take apart in any way (recursion limits of the decoders, odd types in odd places)
# is rejected with its reason instead of stopping the file.
_UNCLASSIFIABLE = (RecursionError, MemoryError, ValueError, TypeError)


def classify_file(path: Path, out: Path, show_progress: bool = True, reader: Reader | None = None,
                  overwrite: bool = False, argv: list[str] | None = None) -> tuple[ClassifyCounts, Path]:
    """Classify every line of ``path`` into ``out`` (with ``OUT.rejects.jsonl`` and ``OUT.manifest.json``,
    written as a `RunDir`); the counts and the rejects file."""
    counts = ClassifyCounts()
    inputs = Inputs([path])
    with RunDir(out, "eval classify", file=True, inputs=inputs, overwrite=overwrite, argv=argv) as run, \
            RecordProgress("classify", enabled=show_progress) as progress:
        sink, rejects = run.sink(), run.rejects
        for rec in (r for file in inputs.files for r in inputs.records(file)):
            counts.read += 1
            progress.advance()
            if isinstance(rec, Reject):
                _reject(rejects, counts, rec)
                continue
            reject = _classified(rec, reader, sink, counts)
            if reject is not None:
                _reject(rejects, counts, reject)
        run.manifest(**counts.to_dict())
    return counts, run.rejects_path


def _classified(rec: SourceRecord, reader: Reader | None, sink: RecordSink, counts: ClassifyCounts) -> Reject | None:
    """Classify one line into ``sink`` and count it; its reject when it cannot be classified."""
    path = rec.path
    try:
        line = check_line(rec.value)
        result = classify(line["reply"], line.get("tools"), line.get("expected"), reader=reader)
        sink.write({**line, **result.to_dict()})  # serialised before anything is written
    except RecordError as err:
        return Reject(path, err.reason, err.detail, line=rec.line, index=rec.index, field=err.field,
                      raw=_raw(rec.value))
    except _UNCLASSIFIABLE as exc:
        return Reject(path, "unclassifiable", f"{type(exc).__name__}: {exc}"[:300], line=rec.line,
                      index=rec.index, field="reply", raw=_raw(rec.value))
    counts.written += 1
    counts.outcomes[result.outcome] += 1
    if result.syntax:
        counts.syntaxes[result.syntax] += 1
    counts.safety_rule += result.safety_rule
    return None


def _reject(rejects: RecordSink, counts: ClassifyCounts, reject: Reject) -> None:
    counts.rejected += 1
    counts.rejects_by_reason[reject.reason] += 1
    rejects.write(reject.to_dict())


def _raw(value: Any) -> Any:
    """The raw line for the rejects file; a value too deep to serialise is replaced by a note."""
    try:
        dumps(value)
    except (RecursionError, MemoryError, ValueError):
        return "[not serialisable: nested too deeply]"
    return value
