"""Format entanglement (paper observation 1): how much of what a model is trained on is format scaffolding.

The supervised text is measured *as the model would see it*, so one function, `model_view`, decides what that
text is for any trajectory:

- already-built Agent-FLAN data (``metadata["kind"]`` present): the parts' own capability labels;
- ReAct-like corpora (react, agentinstruct, ToolLLaMA): the ReAct rendering of `formats.react.render_react`, whose
  keywords, fences and JSON punctuation are labelled ``instruction_following``;
- function-call corpora (openai, toolbench answers, bfcl, tooltalk, apibank, sharegpt): each call serialised as
  ``{"name": ..., "arguments": {...}}``: braces, quotes, colons, commas and keys are format, the tool name is
  retrieval and the argument values are understanding;
- anything else (plain chat): the text as labelled (default capabilities).

>>> [(s.capability, s.text) for s in call_pieces("f", {"q": "hi"}, 0)]  # doctest: +NORMALIZE_WHITESPACE
[('instruction_following', '{"name": "'), ('retrieval', 'f'), ('instruction_following', '", "arguments": '),
 ('instruction_following', '{'), ('instruction_following', '"q"'), ('instruction_following', ': '),
 ('instruction_following', '"'), ('understanding', 'hi'), ('instruction_following', '"'),
 ('instruction_following', '}'), ('instruction_following', '}')]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from agentflan.audit.record import AuditedRecord
from agentflan.audit.section import Findings
from agentflan.capabilities import Span, arguments_text, spans
from agentflan.schema import Trajectory

FORMAT = "instruction_following"

# Provenance formats whose assistant turns are ReAct text in the source.
REACT_FORMATS = frozenset({"react", "agentinstruct", "toolllama"})
# Provenance formats whose assistant turns are structured (JSON) function calls.
FUNCTION_CALL_FORMATS = frozenset({"openai", "toolbench", "bfcl", "tooltalk", "apibank", "sharegpt"})


def view_of(traj: Trajectory) -> str:
    """Which rendering the model sees: ``built``, ``react``, ``function_call`` or ``text``."""
    if traj.kind is not None:
        return "built"
    fmt = traj.provenance.format if traj.provenance else None
    if fmt in REACT_FORMATS or (fmt == "toolbench" and _is_toolllama(traj)):
        return "react"
    if traj.calls() or fmt in FUNCTION_CALL_FORMATS:
        return "function_call"
    return "text"


def _is_toolllama(traj: Trajectory) -> bool:
    """ToolLLaMA conversations come through the toolbench reader but are ReAct text in the source."""
    return any(isinstance(traj.metadata.get(k), str) and "toolllama" in traj.metadata[k].lower()
               for k in ("format", "style"))


def model_view(traj: Trajectory) -> tuple[str, list[Span]]:
    """(view name, supervised spans as the model sees them, each with exactly one capability)."""
    view = view_of(traj)
    if view == "react":
        from agentflan.formats.react import render_react  # lives beside the react reader

        return view, list(spans(render_react(traj)))
    if view == "function_call":
        return view, list(_function_call_spans(traj))
    return view, list(spans(traj))


def _function_call_spans(traj: Trajectory) -> Iterator[Span]:
    """`spans` with every tool call replaced by the pieces of its JSON serialisation.

    `spans` yields, per call, the name (retrieval) and then the arguments (understanding), each only when
    supervised; the queue of the message's calls tells those spans apart from labelled text parts.
    """
    pending = {i: list(m.tool_calls) for i, m in enumerate(traj.messages) if m.tool_calls}
    args_next: dict[int, bool] = {}  # message -> the next understanding span is the arguments of a call
    for span in spans(traj):
        calls = pending.get(span.message)
        if calls and span.capability == "retrieval" and span.text == calls[0].name:
            call = calls.pop(0)
            message = traj.messages[span.message]
            args_loss = call.arguments_loss if call.arguments_loss is not None else message.supervised
            args_next[span.message] = bool(args_loss)
            yield from call_pieces(call.name, call.arguments if args_loss else None, span.message, span.loss,
                                   span.weight)
            continue
        if span.capability == "understanding" and span.message in pending:
            if args_next.pop(span.message, False):
                continue  # already emitted inside call_pieces
            calls = pending[span.message]
            if calls and span.text == arguments_text(calls[0].arguments):
                calls.pop(0)  # arguments supervised without the name: only their own pieces
                yield from (Span(cap, text, span.loss, span.weight, span.message)  # type: ignore[arg-type]
                            for cap, text in json_pieces(json.loads(span.text)))
                continue
        yield span


def call_pieces(name: str, arguments: dict[str, Any] | None, message: int, loss: bool = True,
                weight: float = 1.0) -> list[Span]:
    """The serialised call ``{"name": NAME, "arguments": ARGS}`` as labelled spans whose texts concatenate to
    ``json.dumps({"name": NAME, "arguments": ARGS}, ensure_ascii=False)``; ``arguments=None`` when they are not
    supervised (only the name and its scaffolding are)."""
    def piece(cap: str, text: str) -> Span:
        return Span(cap, text, loss, weight, message)  # type: ignore[arg-type]

    out = [piece(FORMAT, '{"name": "'), piece("retrieval", json.dumps(name, ensure_ascii=False)[1:-1]),
           piece(FORMAT, '", "arguments": ' if arguments is not None else '"')]
    if arguments is not None:
        out.extend(piece(cap, text) for cap, text in json_pieces(arguments))
    out.append(piece(FORMAT, "}"))
    return out


def json_pieces(value: Any) -> Iterator[tuple[str, str]]:
    """(capability, text) pieces of ``json.dumps(value, ensure_ascii=False)``: scalar values are
    ``understanding``, everything else (punctuation, quotes, keys) is format."""
    if isinstance(value, dict):
        yield FORMAT, "{"
        for i, (key, item) in enumerate(value.items()):
            if i:
                yield FORMAT, ", "
            yield FORMAT, json.dumps(str(key), ensure_ascii=False)
            yield FORMAT, ": "
            yield from json_pieces(item)
        yield FORMAT, "}"
    elif isinstance(value, list | tuple):
        yield FORMAT, "["
        for i, item in enumerate(value):
            if i:
                yield FORMAT, ", "
            yield from json_pieces(item)
        yield FORMAT, "]"
    elif isinstance(value, str):
        yield FORMAT, '"'
        inner = json.dumps(value, ensure_ascii=False)[1:-1]
        if inner:
            yield "understanding", inner
        yield FORMAT, '"'
    else:
        yield "understanding", json.dumps(value, ensure_ascii=False)


class FormatShare:
    """Supervised tokens that are format vs content, per source and per view, with the most format-heavy
    records as examples."""

    def __init__(self, examples: int = 5) -> None:
        self.by_source: dict[str, Counter[str]] = {}
        self.by_view: dict[str, Counter[str]] = {}
        self.by_kind: dict[str, Counter[str]] = {}
        self.views: dict[str, Counter[str]] = {}  # source -> view -> records
        self._top: list[tuple[float, str]] = []
        self._examples = examples

    def add(self, rec: AuditedRecord) -> None:
        rid, source, view, kind, tokens = rec.id, rec.source, rec.view, rec.traj.kind, rec.tokens
        fmt = tokens.get(FORMAT, 0)
        total = sum(tokens.values())
        for table, key in ((self.by_source, source), (self.by_view, view), (self.by_kind, kind)):
            if key is None:
                continue
            c = table.setdefault(key, Counter())
            c["format"] += fmt
            c["total"] += total
        self.views.setdefault(source, Counter())[view] += 1
        if total:
            self._top.append((fmt / total, rid))
            if len(self._top) > 4 * self._examples:
                self._top = sorted(self._top, key=lambda x: (-x[0], x[1]))[: self._examples]

    @staticmethod
    def _share(c: Counter[str]) -> dict[str, Any]:
        return {"format_tokens": c["format"], "supervised_tokens": c["total"],
                "format_share": round(c["format"] / c["total"], 4) if c["total"] else 0.0}

    def report(self) -> Findings:
        fmt = self.result()
        return Findings({"format_share": fmt["format_share"], "format": fmt}, {"format_share": fmt["format_share"]})

    def result(self) -> dict[str, Any]:
        fmt = sum(c["format"] for c in self.by_source.values())
        total = sum(c["total"] for c in self.by_source.values())
        top = sorted(self._top, key=lambda x: (-x[0], x[1]))[: self._examples]
        return {
            "format_share": round(fmt / total, 4) if total else 0.0,
            "format_tokens": fmt,
            "supervised_tokens": total,
            "by_source": {s: {**self._share(c), "views": dict(self.views.get(s, {}))}
                          for s, c in self.by_source.items()},
            "by_view": {v: self._share(c) for v, c in sorted(self.by_view.items())},
            "by_kind": {k: self._share(c) for k, c in sorted(self.by_kind.items())},
            "examples": [rid for _, rid in top],
            "example_shares": [round(s, 4) for s, _ in top],
        }


def tokens_by_capability(view_spans: list[Span], count: Callable[[str], int]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for span in view_spans:
        totals[span.capability] += count(span.text)
    return totals
