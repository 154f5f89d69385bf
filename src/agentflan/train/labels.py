"""Tokenisation with per-token labels: which tokens are supervised, with which capability and loss weight.

Each sample is rendered through the model's own chat template, every assistant part is located in the rendered
text (searching forward, so templates may add or reformat what lies around it), the characters are labelled,
and the fast tokenizer's character → token map carries the labels to tokens.

Before / after (ChatML template, ``|`` marks token boundaries)::

    assistant part "I should look it up." (reasoning), call weather({"city": "Paris"})
    → ...|<|im_start|>|assistant|\\n|I| should| look| it| up|.|\\n|<tool_call>|{"name": "|weather|", "arguments": |{"city": "Paris"}|}</tool_call>|<|im_end|>|...
          ----------- not supervised ---------  reasoning ........... scaffolding ..........  retrieval  scaffolding understanding ...... scaffolding ........

Rules (``LabelConfig``):
- supervised characters are those of assistant parts (and tool-call names and arguments) whose resolved ``loss``
  is true (`agentflan.capabilities.spans` resolves defaults: assistant turns get loss unless a flag says no);
- with ``scaffolding`` on, the template's own text inside a supervised assistant turn (call wrappers, the
  end-of-turn token) is supervised too, labelled ``instruction_following``: with ``{% generation %}`` tags the
  turn is what the tags enclose; without them it ends at the first closing special token found within a few
  characters of template text after the last part (``}<|eot_id|>``, ``\n</tool_call><|im_end|>``, `` </s>``);
- a token is supervised when any of its characters is; its capability and weight are those of its first
  supervised character.
"""

from __future__ import annotations

import gc
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from agentflan.capabilities import Span
from agentflan.capabilities import message_spans as capability_spans
from agentflan.errors import AgentflanError, RecordError
from agentflan.pipeline.sources import Reject
from agentflan.schema import CAPABILITIES, Trajectory
from agentflan.train.chat import hf_chat, template_has_tool_role
from agentflan.train.config import LabelConfig

Run = tuple[int, int, int, float]
IGNORE = -100
NONE = -1  # capability id of an unsupervised token
CAPABILITY_ID = {c: i for i, c in enumerate(CAPABILITIES)}
SCAFFOLDING = CAPABILITY_ID["instruction_following"]
# Template text allowed between a turn's last part and its end token (Qwen's "\n</tool_call>" is 13).
_MAX_CLOSING_GAP = 32
# Reject reason of a sample whose tools neither the template nor the sample's own prompt shows.
TOOLS_NOT_RENDERED = "tools_not_rendered"
_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


@dataclass
class _ToolFailures:
    """Samples with tools, and those whose tools the template could not show (see `Labeller.examples`)."""

    with_tools: int = 0
    failed: int = 0
    first: str = ""


class TemplateError(AgentflanError):
    """The chat template cannot express a sample (no tool support, or it raised): the run stops."""


@dataclass(slots=True)
class Example:
    """One tokenised sample. ``capability[i]`` is the label of token i (NONE = not supervised)."""

    id: str
    source: str
    input_ids: np.ndarray  # int64
    capability: np.ndarray  # int8
    weight: np.ndarray | None  # float32, None when every weight is 1

    def __len__(self) -> int:
        return len(self.input_ids)

    def labels(self) -> np.ndarray:
        return np.where(self.capability >= 0, self.input_ids, IGNORE)


@dataclass
class LabelStats:
    samples: int = 0
    used: int = 0
    truncated: int = 0
    dropped_overlong: int = 0
    rejected: int = 0
    rejects_by_reason: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    supervised_tokens: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "used": self.used, "truncated": self.truncated,
                "dropped_overlong": self.dropped_overlong, "rejected": self.rejected,
                "rejects_by_reason": dict(sorted(self.rejects_by_reason.items())), "tokens": self.tokens,
                "supervised_tokens": dict(sorted(self.supervised_tokens.items()))}


def stats_line(counts: dict[str, Any]) -> str:
    """One line of labelling counts (a `LabelStats.to_dict()`, also as train_summary.json holds it)."""
    rejected = f"rejected {counts['rejected']}" + (f" {counts['rejects_by_reason']}"
                                                   if counts["rejects_by_reason"] else "")
    tokens = ", ".join(f"{k} {v:,}" for k, v in counts["supervised_tokens"].items())
    return (f"samples {counts['samples']}: used {counts['used']}, truncated {counts['truncated']}, dropped as too "
            f"long {counts['dropped_overlong']}, {rejected}; tokens {counts['tokens']:,}; supervised: {tokens}")


@dataclass
class Rendered:
    text: str
    # Supervised character runs (start, end, capability id, weight): sorted, non-overlapping.
    runs: list[Run]


def source_name(traj: Trajectory) -> str:
    """The name per-source losses are grouped under: the build's ``metadata.source``, else the file stem."""
    name = traj.metadata.get("source")
    if isinstance(name, str) and name:
        return name
    if traj.provenance is not None:
        return Path(traj.provenance.source).stem or traj.provenance.source
    return "unknown"


def describe(traj: Trajectory) -> str:
    where = ""
    if traj.provenance is not None:
        where = f" ({traj.provenance.source}" + (f":{traj.provenance.line}" if traj.provenance.line else "") + ")"
    return f"sample {traj.id!r}{where}"


class Labeller:
    """Renders samples with one tokenizer's chat template and labels them; see the module docstring."""

    def __init__(self, tokenizer: Any, config: LabelConfig | None = None, template_name: str | None = None,
                 chat_template: str | None = None) -> None:
        self.tokenizer = tokenizer
        self.config = config or LabelConfig()
        template = chat_template or tokenizer.chat_template
        if not isinstance(template, str) or not template:
            raise TemplateError(f"tokenizer {getattr(tokenizer, 'name_or_path', '?')!r} has no chat template; "
                                "set model.chat_template")
        self.template = template
        self.name = template_name or getattr(tokenizer, "name_or_path", "") or "chat template"
        self.generation_tags = bool(_GENERATION_TAG.search(template))
        role = self.config.tool_role
        self.tool_role = template_has_tool_role(template) if role == "auto" else role == "tool"
        self.renders_tools = "tools" in template
        calls = self.config.calls
        self.calls_as_text = calls == "text" or (calls == "auto" and "tool_calls" not in template)
        self.renders_calls = self.calls_as_text or "tool_calls" in template
        # End-of-turn tokens: special tokens that may close an assistant turn (not ones that open one).
        specials = {t for t in getattr(tokenizer, "all_special_tokens", []) if t}
        specials |= {str(t) for t in getattr(tokenizer, "added_tokens_decoder", {}).values() if getattr(t, "special", False)}
        self.specials = sorted(specials, key=len, reverse=True)
        self.end_tokens = [t for t in self.specials if not _opens(t, tokenizer)]
        self.reply_prefix = self._generation_prompt()

    def _generation_prompt(self) -> str:
        """What the template writes to open an assistant turn (``<|im_start|>assistant``), stripped; "" when
        it writes nothing or cannot render the probe."""
        probe = [{"role": "user", "content": "probe"}]
        try:
            (bare,), _ = _render(conversations=[probe], chat_template=self.template,
                                 **self.tokenizer.special_tokens_map)
            (prompted,), _ = _render(conversations=[probe], chat_template=self.template, add_generation_prompt=True,
                                     **self.tokenizer.special_tokens_map)
        except Exception:  # templates that insist on a system turn, say: fall back to plain forward search
            return ""
        return prompted[len(bare):].strip() if prompted.startswith(bare) else ""

    # -- rendering ------------------------------------------------------------------------------------------------
    def render(self, traj: Trajectory) -> Rendered:
        """The rendered text with per-character labels. Raises `TemplateError` (stop) or `RecordError` (reject)."""
        text, blocks = self.render_text(traj)
        return self.label_text(traj, text, blocks)

    def render_text(self, traj: Trajectory) -> tuple[str, list[tuple[int, int]] | None]:
        """The chat template's text for a sample and, when the template has them, its generation blocks."""
        if traj.calls() and not self.renders_calls:
            raise TemplateError(f"chat template of {self.name} cannot render tool calls (it never reads "
                                f"`tool_calls`; labels.calls: text writes them as JSON): {describe(traj)}")
        messages, tools = hf_chat(traj, tool_role=self.tool_role, calls_as_text=self.calls_as_text,
                                  tools_rendered=self.renders_tools)
        try:
            texts, blocks = _render(
                conversations=[messages], tools=tools, chat_template=self.template,
                return_assistant_tokens_mask=self.generation_tags, **self.tokenizer.special_tokens_map)
        except Exception as exc:  # jinja raise_exception(), undefined variables, type errors in the template
            raise TemplateError(f"chat template of {self.name} failed on {describe(traj)}: "
                                f"{type(exc).__name__}: {exc}") from None
        text = texts[0]
        return text, blocks[0] if self.generation_tags else None

    def label_text(self, traj: Trajectory, text: str, blocks: list[tuple[int, int]] | None = None) -> Rendered:
        """Per-character labels of a sample's rendered text (see the module docstring for the rules)."""
        runs, first_reply = self._label_chars(traj, text, blocks)
        missing = [t.name for t in traj.tools if text.find(t.name, 0, first_reply) < 0]
        if missing:
            # A template that ignores `tools` is fine when the sample's own prompt describes them (Agent-FLAN
            # data describes tools in the system turn); otherwise the model would learn to call unseen tools.
            why = "it never reads `tools`" if not self.renders_tools else "it dropped them"
            raise RecordError(TOOLS_NOT_RENDERED, f"chat template of {self.name} cannot render tools ({why}) and "
                              f"the prompt of {describe(traj)} does not name {', '.join(missing[:5])}", "tools")
        return Rendered(text, runs)

    def _label_chars(self, traj: Trajectory, text: str,
                     blocks: list[tuple[int, int]] | None) -> tuple[list[Run], int]:
        """The supervised character runs, and where the first assistant reply starts."""
        runs: list[Run] = []
        use_weights = self.config.use_weights
        scaffolding = self.config.scaffolding
        cursor = 0
        first_reply = len(text)
        for index, message in enumerate(traj.messages):
            if message.role != "assistant":
                content = message.content
                found = _find(text, content, cursor) if content and not content.isspace() else None
                if found is not None:
                    cursor = found[1]
                continue
            message_spans = [s for s in capability_spans(traj, index, supervised_only=False)
                             if not s.text.isspace()]
            cursor = self._reply_start(text, cursor, blocks, message_spans)
            located: list[tuple[int, int, int, float, bool]] = []  # start, end, capability id, weight, loss
            first_call = len(message_spans) - 2 * len(message.tool_calls)
            any_loss = False
            for n, span in enumerate(message_spans):
                # Text parts come first, then each call's name and arguments (the order of `message_spans`).
                found = (_find_call_text if n >= first_call else _find)(text, span.text, cursor)
                if found is None:
                    if span.loss:
                        raise RecordError("span_not_found", f"message {index}: {span.capability} text "
                                          f"{span.text[:60]!r} not found in the text rendered by {self.name}",
                                          f"messages.{index}")
                    continue
                located.append((found[0], found[1], CAPABILITY_ID[span.capability], span.weight, span.loss))
                any_loss = any_loss or span.loss
                if found[0] < first_reply:
                    first_reply = found[0]
                cursor = found[1]
            if not any_loss:
                continue
            start, end = located[0][0], located[-1][1]
            if scaffolding:
                if blocks is not None:
                    for block_start, block_end in blocks:
                        if block_start <= start < block_end:
                            start, end = min(start, block_start), max(end, block_end)
                            break
                else:
                    end = self._end_of_turn(text, end)
                cursor = max(cursor, end)
            # The turn from start to end: parts with loss, unsupervised parts, and template text between them.
            pos = start
            for s, e, c, w, loss in located:
                if scaffolding and s > pos:
                    runs.append((pos, s, SCAFFOLDING, 1.0))
                if loss:
                    runs.append((s, e, c, w if use_weights else 1.0))
                pos = e
            if scaffolding and end > pos:
                runs.append((pos, end, SCAFFOLDING, 1.0))
        return runs, first_reply

    def _reply_start(self, text: str, cursor: int, blocks: list[tuple[int, int]] | None,
                     message_spans: list[Span]) -> int:
        """Where to search an assistant turn's parts from: past the turn header, so that a short reply ("s",
        "a") is not found inside ``<|im_start|>assistant``. The header is the generation prompt the template
        writes, skipped unless the first part already matches before it (a template that renders past turns
        without it); with ``{% generation %}`` tags, the next block, when the first part lies inside it."""
        if not message_spans:
            return cursor
        needle = message_spans[0].text
        if self.reply_prefix:
            header = text.find(self.reply_prefix, cursor)
            first = _find(text, needle, cursor) if header >= 0 else None
            if header >= 0 and (first is None or first[0] >= header):
                cursor = header + len(self.reply_prefix)
        if blocks is not None:
            for block_start, block_end in blocks:
                if block_start >= cursor:
                    inside = _find(text, needle, block_start)
                    if inside is not None and inside[1] <= block_end:
                        cursor = block_start
                    break
        return cursor

    def _end_of_turn(self, text: str, end: int) -> int:
        """Extend a turn to the special token that closes it, when one follows within a short stretch of
        template text (a call wrapper's closing ``}`` or ``</tool_call>``) holding no other special token."""
        hits = [(pos, token) for token in self.end_tokens
                if (pos := text.find(token, end, end + _MAX_CLOSING_GAP + len(token))) >= 0]
        if not hits:
            return end
        pos, token = min(hits)
        gap = text[end:pos]
        if any(special in gap for special in self.specials):
            return end
        return pos + len(token)

    # -- tokenisation -----------------------------------------------------------------------------------------------
    def examples(self, trajectories: Iterable[Trajectory], stats: LabelStats,
                 rejects: list[Reject] | None = None, batch_size: int = 256) -> Iterator[Example]:
        """Tokenised, labelled samples; rejected ones are counted in ``stats`` (and listed in ``rejects``).

        A sample whose tools the template cannot show is rejected (its prompt may simply lack a description);
        when that happens to every sample with tools, the template is the problem and a `TemplateError` naming
        it and the first such sample ends the run. Batches of 256 rather than 64 let the tokenizer spread each
        call over the cores and share the per-batch array work: about 10 points more of plain throughput on
        short samples (docs/training.md, Speed).
        """
        batch: list[tuple[Trajectory, str, list[tuple[int, int]] | None]] = []
        tally = _ToolFailures()
        for traj in trajectories:
            batch.append((traj, *self.render_text(traj)))
            if len(batch) >= batch_size:
                yield from self.label_batch(batch, stats, rejects, tally)
                batch = []
        if batch:
            yield from self.label_batch(batch, stats, rejects, tally)
        if tally.with_tools and tally.failed == tally.with_tools:
            raise TemplateError(f"{tally.first} (and so for all {tally.with_tools} samples with tools)")

    def label_batch(self, batch: list[tuple[Trajectory, str, list[tuple[int, int]] | None]], stats: LabelStats,
                    rejects: list[Reject] | None = None, tally: _ToolFailures | None = None) -> list[Example]:
        """Label and tokenise rendered samples (`render_text`'s output); rejects are counted, not raised.

        The cyclic garbage collector is paused meanwhile: the batch allocates many small, short-lived objects
        (spans, runs, array views), and each collection they trigger would walk every sample held in memory.
        """
        labelled: list[tuple[Trajectory, Rendered]] = []
        enabled = gc.isenabled()
        gc.disable()
        try:
            for traj, text, blocks in batch:
                stats.samples += 1
                if tally is not None:
                    tally.with_tools += bool(traj.tools)
                try:
                    labelled.append((traj, self.label_text(traj, text, blocks)))
                except RecordError as err:
                    stats.rejected += 1
                    stats.rejects_by_reason[err.reason] += 1
                    if err.reason == TOOLS_NOT_RENDERED and tally is not None:
                        tally.failed += 1
                        tally.first = tally.first or err.detail
                    if rejects is not None:
                        rejects.append(_reject(traj, err))
            return list(self.tokenize(labelled, stats, rejects)) if labelled else []
        finally:
            if enabled:
                gc.enable()

    def tokenize(self, batch: list[tuple[Trajectory, Rendered]], stats: LabelStats,
                 rejects: list[Reject] | None = None) -> Iterator[Example]:
        """Tokenise labelled texts in one batched call and carry the labels to tokens (`carry_labels`)."""
        backend = self.tokenizer.backend_tokenizer
        if backend.truncation is not None or backend.padding is not None:
            backend.no_truncation()  # left over from an earlier call with truncation=True / padding=True
            backend.no_padding()
        encodings = backend.encode_batch([r.text for _, r in batch], add_special_tokens=False)
        # len(encoding) does not build the ids list; each list is built once, for `ids`.
        lengths = np.fromiter(map(len, encodings), dtype=np.int64, count=len(encodings))
        total = int(lengths.sum())
        ids = np.fromiter(chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=total)
        token_starts = np.concatenate([[0], np.cumsum(lengths)])
        # Labels are written straight into batch-wide arrays (views per sample): no per-sample allocation.
        capability = np.full(total, NONE, dtype=np.int8)
        weight = np.ones(total, dtype=np.float32)
        for e, (_, r), lo, hi in zip(encodings, batch, token_starts[:-1].tolist(), token_starts[1:].tolist(),
                                     strict=True):
            carry_labels(e, r.runs, capability[lo:hi], weight[lo:hi])
        # Per-sample bookkeeping as array operations over the whole batch, then one cheap loop to slice.
        n = len(batch)
        sample = np.repeat(np.arange(n), lengths)
        position = np.arange(total) - token_starts[:-1][sample]
        max_length = self.config.max_length
        overlong = lengths > max_length
        drop = self.config.overlong == "drop"
        keep = ~overlong[sample] if drop else position < max_length
        supervised = keep & (capability >= 0)
        n_caps = len(CAPABILITIES)
        counts = np.bincount(sample[supervised] * n_caps + capability[supervised],
                             minlength=n * n_caps).reshape(n, n_caps)
        weighted = np.bincount(sample[keep & (weight != 1.0)], minlength=n)
        # Every sample ends up in exactly one of used / dropped_overlong / rejected; truncated ones are used.
        candidates = ~overlong if drop else np.ones(n, dtype=bool)
        used = candidates & counts.any(axis=1)
        unlabelled = int((candidates & ~used).sum())
        if unlabelled:
            stats.rejected += unlabelled
            stats.rejects_by_reason["no_supervised_tokens"] += unlabelled
            if rejects is not None:
                for i in np.flatnonzero(candidates & ~used):
                    where = f" in the first {max_length} tokens (truncated)" if overlong[i] else ""
                    rejects.append(_reject(batch[i][0], RecordError("no_supervised_tokens",
                                                                    f"no supervised token{where}")))
        if drop:
            stats.dropped_overlong += int(overlong.sum())
        else:
            stats.truncated += int((overlong & used).sum())
        stats.used += int(used.sum())
        stats.tokens += int(np.minimum(lengths, max_length)[used].sum())
        totals = counts[used].sum(axis=0)
        for cid in np.flatnonzero(totals):
            stats.supervised_tokens[CAPABILITIES[cid]] += int(totals[cid])
        for i in np.flatnonzero(used):
            traj = batch[i][0]
            lo = int(token_starts[i])
            hi = min(int(token_starts[i + 1]), lo + max_length)
            yield Example(traj.id, source_name(traj), ids[lo:hi], capability[lo:hi],
                          weight[lo:hi] if weighted[i] else None)


def _opens(token: str, tokenizer: Any) -> bool:
    """Special tokens that open something (a text, a turn, a header) never close a turn."""
    lowered = token.lower()
    return (token in (tokenizer.bos_token, tokenizer.pad_token) or "start" in lowered or "begin" in lowered
            or token in ("[INST]", "[AVAILABLE_TOOLS]", "[TOOL_RESULTS]"))


def carry_labels(encoding: Any, runs: list[Run], capability: np.ndarray | None = None,
                 weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-token (capability, weight) from supervised character runs: a token is supervised when any of its
    characters is, and takes the label of its first supervised character.

    Works run by run through the encoding's character → token map, a few calls per run, rather than converting
    every token's offsets to Python: labelling keeps up with plain tokenisation. Runs are visited last to first,
    so a token shared by two runs ends with the earlier's label. ``capability``/``weight`` may be given to
    write into (views of batch-wide arrays, pre-filled with NONE and 1.0).
    """
    n = len(encoding)
    if capability is None:
        capability = np.full(n, NONE, dtype=np.int8)
    if weight is None:
        weight = np.ones(n, dtype=np.float32)
    to_token = encoding.char_to_token
    lowest_weighted = n
    for s, e, cap, w in reversed(runs):
        first = to_token(s)
        if first is None:
            first = _token_of(encoding, range(s + 1, e))
            if first is None:  # every character of the run was dropped by the tokenizer's normaliser
                continue
        last = to_token(e - 1)
        if last is None:
            last = _token_of(encoding, range(e - 2, s - 1, -1))
        # A character split over several tokens (byte-level BPE) maps to its first token: take the rest too.
        while last + 1 < n and (chars := encoding.token_to_chars(last + 1)) is not None and chars[0] < e:
            last += 1
        capability[first:last + 1] = cap
        # The weights are pre-filled with 1.0: write only other weights, or over a token a later run weighted.
        if w != 1.0 or last >= lowest_weighted:
            weight[first:last + 1] = w
            if w != 1.0:
                lowest_weighted = first
    return capability, weight


def _token_of(encoding: Any, chars: range) -> int | None:
    for c in chars:
        token = encoding.char_to_token(c)
        if token is not None:
            return token
    return None


def _find(text: str, needle: str, start: int) -> tuple[int, int] | None:
    """``needle`` in ``text`` from ``start``; templates often trim a turn, so the stripped text is tried next."""
    pos = text.find(needle, start)
    if pos >= 0:
        return pos, pos + len(needle)
    stripped = needle.strip()
    if stripped and stripped != needle:
        pos = text.find(stripped, start)
        if pos >= 0:
            return pos, pos + len(stripped)
    return None


def _find_call_text(text: str, needle: str, start: int) -> tuple[int, int] | None:
    """A call's name or arguments as templates write them: the name quoted or bare; the arguments as
    ``json.dumps`` writes them by default (``tojson``), compact, or with non-ASCII escaped."""
    if needle.startswith("{"):
        found = _find(text, needle, start)
        if found is not None:
            return found
        try:
            value = json.loads(needle)
        except ValueError:
            return None
        variants = [json.dumps(value, ensure_ascii=False, separators=(",", ":")), json.dumps(value),
                    json.dumps(value, separators=(",", ":")), json.dumps(value, ensure_ascii=False, indent=2),
                    json.dumps(value, indent=4)]
        hits = [f for v in dict.fromkeys(variants) if (f := _find(text, v, start)) is not None]
        return min(hits) if hits else None
    quoted = _find(text, f'"{needle}"', start)
    if quoted is not None:
        return quoted[0] + 1, quoted[1] - 1
    return _find(text, needle, start)


def _render(**kwargs: Any) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """transformers' ``render_jinja_template``: the rendered texts and, when asked, each one's generation blocks
    (its annotations differ from release to release, so its result is taken as what it documents)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered: Any = render_jinja_template(**kwargs)
    return rendered[0], rendered[1]


def _reject(traj: Trajectory, err: RecordError) -> Reject:
    return Reject.of(traj, err.reason, err.detail, field=err.field, id=traj.id)
