"""`eval run` with a model trained on the Agent-FLAN layout, which ends its message after the tool-naming
sentence: the backend is asked for the next assistant turn(s), and the turns are read together."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jinja2 import TemplateError

from agentflan.evaluate.backends import GenerationError
from agentflan.evaluate.classify import Reader
from agentflan.evaluate.run import run
from agentflan.evaluate.samples import Sample
from tool_naming import tool_naming

WEATHER = {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                             "required": ["city"]}}
NAMING = tool_naming("weather")
ARGS = '```json\n{"city": "Paris"}\n```'


def _samples() -> list[Sample]:
    call = Sample(id="s/call", bench="bfcl", category="simple_python", tools=[WEATHER],
                  messages=[{"role": "user", "content": "Weather in Paris?"}],
                  expected=[{"name": "weather", "arguments": {"city": "Paris"}}])
    plain = Sample(id="s/plain", bench="bfcl", category="irrelevance", tools=[WEATHER],
                   messages=[{"role": "user", "content": "Write a haiku."}], expected=[])
    return [call, plain]


class PerTurn:
    """Answers one assistant part per turn, as a model trained on the agentflan export does."""

    name = "per-turn"

    def __init__(self, second: str | None = ARGS, fail: Exception | None = None) -> None:
        self.second, self.fail, self.asked = second, fail, []

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": "fake"}

    def generate(self, samples: list[Sample]) -> list[Any]:
        self.asked.append([s.id for s in samples])
        out: list[Any] = []
        for s in samples:
            last = s.messages[-1]
            if "haiku" in last["content"]:
                out.append("Autumn leaves falling.")
            elif last["role"] == "assistant":
                if self.fail is not None:
                    raise self.fail
                out.append(self.second if self.second is not None else GenerationError("down"))
            else:
                out.append(NAMING)
        return out


def _records(out: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (out / "replies.jsonl").read_text().splitlines())}


def test_the_next_turn_brings_the_arguments(tmp_path: Path) -> None:
    backend = PerTurn()
    results = run(_samples(), backend, tmp_path, show_progress=False)
    rec = _records(tmp_path)["s/call"]
    assert rec["reply"] == [NAMING, ARGS] and rec["continued"] == 1
    assert (rec["outcome"], rec["syntax"], rec["success"]) == ("call_correct", "agentflan", True)
    assert backend.asked == [["s/call", "s/plain"], ["s/call/turn1"]]  # only the dangling reply is continued
    assert "continued" not in _records(tmp_path)["s/plain"]
    reading = results["reading"]
    assert reading["syntax"] == {"agentflan": {"n": 1, "share": 50.0}, "none": {"n": 1, "share": 50.0}}
    assert (reading["continued"], reading["safety_rule_malformed"]) == (1, 0)
    md = (tmp_path / "results.md").read_text()
    assert "How the replies were read" in md and "| agentflan | 1 | 50.00 |" in md


def test_arguments_that_never_come_are_malformed_by_the_safety_rule(tmp_path: Path) -> None:
    backend = PerTurn(second=NAMING)  # the model names the tool again and again
    results = run(_samples(), backend, tmp_path, show_progress=False, max_continuations=2)
    rec = _records(tmp_path)["s/call"]
    assert rec["reply"] == [NAMING] * 3 and rec["continued"] == 2  # bounded
    assert (rec["outcome"], rec["safety_rule"]) == ("malformed", True)
    assert results["reading"]["safety_rule_malformed"] == 1


def test_continuation_failures_keep_the_reply(tmp_path: Path) -> None:
    for backend in (PerTurn(second=None), PerTurn(fail=TemplateError("roles must alternate"))):
        out = tmp_path / backend.__class__.__name__ / str(id(backend))
        run(_samples(), backend, out, show_progress=False)
        rec = _records(out)["s/call"]
        assert (rec["reply"], rec["outcome"]) == (NAMING, "malformed")


def test_no_continuation_when_switched_off_or_another_syntax_is_pinned(tmp_path: Path) -> None:
    for n, kwargs in enumerate(({"max_continuations": 0}, {"reader": Reader(syntax="hermes")})):
        backend = PerTurn()
        run(_samples(), backend, tmp_path / str(n), show_progress=False, **kwargs)
        assert len(backend.asked) == 1
        assert _records(tmp_path / str(n))["s/call"]["outcome"] == "malformed"


def test_local_backend_keeps_the_special_tokens_calls_open_with() -> None:
    from agentflan.evaluate.backends.hf_local import TransformersBackend
    from agentflan.train.config import TinyModel
    from agentflan.train.synthetic import synthetic_corpus
    from agentflan.train.tiny import train_tokenizer

    tok = train_tokenizer(synthetic_corpus(20), TinyModel(vocab_size=300))
    tok.add_special_tokens({"additional_special_tokens": ["[TOOL_CALLS]"]})
    backend = TransformersBackend.__new__(TransformersBackend)
    backend.tokenizer = tok
    backend.model = SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=[tok.eos_token_id]))
    body = '[TOOL_CALLS] [{"name": "weather", "arguments": {}}]'
    ids = [*tok.encode(body, add_special_tokens=False), tok.eos_token_id, tok.pad_token_id, tok.pad_token_id]
    assert backend.decode(ids) == body
    assert tok.decode(ids, skip_special_tokens=True) != body  # what decoding used to lose
