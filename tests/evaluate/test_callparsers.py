"""Ecosystem parsers: transformers' ``tokenizer.parse_response`` (a tokenizer with a ``response_template``) and
vLLM's tool parsers (``--call-parser``), the latter through a stub of vLLM's ``ToolParserManager`` API (vLLM
needs CUDA and cannot be installed here)."""

from __future__ import annotations

import importlib.machinery
import json
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.errors import UsageError
from agentflan.evaluate.callparsers import TransformersParser, VLLMParser, make_parser
from agentflan.evaluate.classify import Reader, classify
from agentflan.evaluate.samples import Sample

runner = CliRunner()
WEATHER = {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                                               "days": {"type": "integer"}},
                                             "required": ["city"]}}
HERMES = '<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>'
CUT = '<tool_call>\n{"name": "weather", "arguments": {"city": "Pa'
# A response template for the tiny model's ChatML template, in transformers' declarative format.
RESPONSE_TEMPLATE = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<|im_start|>assistant\n",
    "fields": {
        "tool_calls": {"open_pattern": r"\s*<tool_call>", "close": "</tool_call>", "repeats": True,
                       "content": "json", "transform": {"type": "function", "function": "{content}"}},
        "content": {"close_pattern": r"\s*(?:<\|im_end\|>|<\|endoftext\|>)", "content": "text"},
    },
}


# transformers added `parse_response` in 5.x; the tested floor (4.56) has none, and the parser is then unused.
needs_parse_response = pytest.mark.skipif(
    not hasattr(__import__("transformers").PreTrainedTokenizerBase, "parse_response"),
    reason="this transformers has no tokenizer.parse_response (added in 5.x)")


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from agentflan.train.config import TinyModel
    from agentflan.train.synthetic import synthetic_corpus
    from agentflan.train.tiny import train_tokenizer

    tok = train_tokenizer(synthetic_corpus(30), TinyModel(vocab_size=300))
    tok.response_template = RESPONSE_TEMPLATE
    return tok


def _sample() -> Sample:
    return Sample(id="s", bench="bfcl", category="simple_python", messages=[{"role": "user", "content": "Paris?"}],
                  tools=[WEATHER])


# --- transformers -----------------------------------------------------------------------------------------------


@needs_parse_response
def test_parse_response_reads_the_calls(tokenizer: Any) -> None:
    parser = make_parser(None, tokenizer)
    assert isinstance(parser, TransformersParser)
    reader = Reader(parser=parser)
    result = classify("Let me check.\n" + HERMES, [WEATHER], reader=reader, sample=_sample())
    assert (result.outcome, result.syntax) == ("call", "transformers")
    assert result.calls == [{"name": "weather", "arguments": {"city": "Paris"}}]
    # A call transformers' parser cannot read falls to the built-in readers: malformed, not an abstention.
    cut = classify(CUT, [WEATHER], reader=reader, sample=_sample())
    assert (cut.outcome, cut.syntax) == ("malformed", "hermes")
    assert classify("It is sunny in Paris.", [WEATHER], reader=reader).outcome == "abstain"


def test_no_response_template_no_parser(tokenizer: Any) -> None:
    plain = type("T", (), {"response_template": None})()
    assert make_parser(None, plain) is None
    assert make_parser(None, None) is None


@needs_parse_response
def test_classify_command_uses_the_tokenizers_response_template(tokenizer: Any, tmp_path: Path) -> None:
    tokenizer.save_pretrained(tmp_path / "tok")
    src = tmp_path / "replies.jsonl"
    src.write_text(json.dumps({"id": 1, "reply": HERMES, "tools": [WEATHER]}) + "\n")
    result = runner.invoke(app, ["eval", "classify", str(src), "-o", str(tmp_path / "o.jsonl"),
                                 "--tokenizer", str(tmp_path / "tok")])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "o.jsonl").read_text())
    assert (row["outcome"], row["syntax"]) == ("call", "transformers")
    pinned = runner.invoke(app, ["eval", "classify", str(src), "-o", str(tmp_path / "p.jsonl"), "--tokenizer",
                                 str(tmp_path / "tok"), "--call-syntax", "hermes"])
    assert pinned.exit_code == 0, pinned.output
    assert json.loads((tmp_path / "p.jsonl").read_text())["syntax"] == "hermes"  # a pinned syntax is built-in


# --- vLLM (stubbed) ----------------------------------------------------------------------------------------------


@dataclass
class FunctionCall:
    name: str
    arguments: str


@dataclass
class ToolCall:
    function: FunctionCall
    type: str = "function"
    id: str = "chatcmpl-tool-0"


@dataclass
class ExtractedToolCallInformation:
    tools_called: bool
    tool_calls: list[ToolCall]
    content: str | None = None


@dataclass
class ChatCompletionRequest:
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    tool_choice: str = "auto"
    skip_special_tokens: bool = True


class ToolParser:
    def __init__(self, tokenizer: Any, tools: list[Any] | None = None) -> None:
        self.model_tokenizer = tokenizer

    def adjust_request(self, request: ChatCompletionRequest) -> ChatCompletionRequest:
        return request


class ToolParserManager:
    """vLLM's registry, as `vllm/tool_parsers/abstract_tool_parser.py` defines it (eager and lazy names)."""

    tool_parsers: ClassVar[dict[str, type]] = {}
    lazy_parsers: ClassVar[dict[str, tuple[str, str]]] = {}

    @classmethod
    def get_tool_parser(cls, name: str) -> type:
        if name in cls.tool_parsers:
            return cls.tool_parsers[name]
        raise KeyError(f"Tool parser '{name}' not found.")

    @classmethod
    def register_module(cls, name: str | list[str] | None = None, force: bool = True, module: type | None = None):
        def register(obj: type) -> type:
            for n in [name] if isinstance(name, str) else name or [obj.__name__]:
                cls.tool_parsers[n] = obj
            return obj
        return register(module) if module is not None else register

    @classmethod
    def list_registered(cls) -> list[str]:
        return sorted(set(cls.tool_parsers) | set(cls.lazy_parsers))


@ToolParserManager.register_module("hermes")
class Hermes2ProToolParser(ToolParser):
    """What vLLM's hermes parser does: JSON between the tags; any error means no call (content as is)."""

    regex = re.compile(r"<tool_call>(.*?)</tool_call>|<tool_call>(.*)", re.DOTALL)

    def adjust_request(self, request: ChatCompletionRequest) -> ChatCompletionRequest:
        request.skip_special_tokens = False
        return request

    def extract_tool_calls(self, model_output: str, request: ChatCompletionRequest) -> ExtractedToolCallInformation:
        if "<tool_call>" not in model_output:
            return ExtractedToolCallInformation(False, [], model_output)
        try:
            raw = [json.loads(a or b) for a, b in self.regex.findall(model_output)]
            calls = [ToolCall(FunctionCall(c["name"], json.dumps(c["arguments"]))) for c in raw]
        except Exception:
            return ExtractedToolCallInformation(False, [], model_output)
        return ExtractedToolCallInformation(True, calls, None)


@dataclass
class _Layout:
    manager: str
    request: str
    modules: list[str] = field(default_factory=list)


# The current layout (vllm.tool_parsers, chat_completion.protocol) and the one before it (< 0.12).
LAYOUTS = [_Layout("vllm.tool_parsers", "vllm.entrypoints.openai.chat_completion.protocol"),
           _Layout("vllm.entrypoints.openai.tool_parsers", "vllm.entrypoints.openai.protocol")]


@pytest.fixture(params=LAYOUTS, ids=["current", "before-0.12"])
def vllm_stub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    layout: _Layout = request.param
    names = {"vllm", "vllm.entrypoints", "vllm.entrypoints.openai", layout.manager, layout.request,
             *(".".join(layout.request.split(".")[:i]) for i in range(2, layout.request.count(".") + 1))}
    for name in sorted(names):
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        monkeypatch.setitem(sys.modules, name, module)
    sys.modules[layout.manager].ToolParserManager = ToolParserManager  # type: ignore[attr-defined]
    sys.modules[layout.manager].ToolParser = ToolParser  # type: ignore[attr-defined]
    sys.modules[layout.request].ChatCompletionRequest = ChatCompletionRequest  # type: ignore[attr-defined]


def test_vllm_parser_by_name(vllm_stub: None) -> None:
    parser = make_parser("hermes", tokenizer=object())
    assert isinstance(parser, VLLMParser) and parser.name == "vllm:hermes"
    reader = Reader(parser=parser)
    result = classify("Let me check.\n" + HERMES, [WEATHER], reader=reader, sample=_sample())
    assert (result.outcome, result.syntax, result.calls) == (
        "call", "vllm:hermes", [{"name": "weather", "arguments": {"city": "Paris"}}])
    # vLLM reports a call it cannot parse as plain content (tools_called=False): the built-in readers decide.
    cut = classify(CUT, [WEATHER], reader=reader, sample=_sample(), expected=[])
    assert (cut.outcome, cut.hallucination) == ("malformed", True)


def test_vllm_unknown_parser_names_the_known_ones(vllm_stub: None) -> None:
    with pytest.raises(UsageError, match="hermes"):
        make_parser("no_such_parser", tokenizer=object())


def test_classify_command_with_call_parser(vllm_stub: None, tokenizer: Any, tmp_path: Path) -> None:
    tokenizer.save_pretrained(tmp_path / "tok")
    src = tmp_path / "replies.jsonl"
    src.write_text(json.dumps({"id": 1, "reply": HERMES, "tools": [WEATHER]}) + "\n")
    result = runner.invoke(app, ["eval", "classify", str(src), "-o", str(tmp_path / "o.jsonl"),
                                 "--call-parser", "hermes", "--tokenizer", str(tmp_path / "tok")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o.jsonl").read_text())["syntax"] == "vllm:hermes"
    no_tokenizer = runner.invoke(app, ["eval", "classify", str(src), "--call-parser", "hermes"])
    assert no_tokenizer.exit_code == 2 and "--tokenizer" in no_tokenizer.output


def test_call_parser_without_vllm_is_a_one_line_usage_error(tmp_path: Path) -> None:
    assert importlib.util.find_spec("vllm") is None  # the real vLLM is not installed here
    src = tmp_path / "replies.jsonl"
    src.write_text(json.dumps({"id": 1, "reply": HERMES}) + "\n")
    for args in (["eval", "classify", str(src), "--call-parser", "hermes"],
                 ["eval", "run", "--bench", "bfcl.simple_python", "--model", str(tmp_path / "none"),
                  "--call-parser", "hermes", "-o", str(tmp_path / "run")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        message = [line for line in result.output.splitlines() if line.strip()]
        assert len(message) == 1 and "needs vLLM" in message[0], result.output
    assert not (tmp_path / "run").exists()  # refused before anything was loaded or written


def test_call_syntax_option(tmp_path: Path) -> None:
    src = tmp_path / "replies.jsonl"
    src.write_text(json.dumps({"id": 1, "reply": HERMES, "tools": [WEATHER]}) + "\n")
    bad = runner.invoke(app, ["eval", "classify", str(src), "--call-syntax", "nope"])
    assert bad.exit_code == 2 and "mistral" in bad.output
    both = runner.invoke(app, ["eval", "classify", str(src), "--call-syntax", "hermes", "--call-parser", "hermes"])
    assert both.exit_code == 2
    # Pinned to another syntax, a Hermes call is not read, but it is not an abstention either (safety rule).
    result = runner.invoke(app, ["eval", "classify", str(src), "-o", str(tmp_path / "o.jsonl"),
                                 "--call-syntax", "mistral"])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "o.jsonl").read_text())
    assert (row["outcome"], row["safety_rule"]) == ("malformed", True)


@needs_parse_response
def test_eval_run_reads_with_the_local_models_response_template(tokenizer: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`eval run --model` hands the backend's tokenizer to the reader: its response_template parses first."""
    from agentflan.evaluate import agent_h

    class Local:
        name = "transformers"

        def __init__(self) -> None:
            self.tokenizer = tokenizer

        def describe(self) -> dict[str, Any]:
            return {"backend": self.name, "model": "fake"}

        def generate(self, samples: list[Sample]) -> list[Any]:
            return ["Let me check.\n" + HERMES if s.tools else "Paris is in France." for s in samples]

    monkeypatch.setattr("agentflan.evaluate.backends.make_backend", lambda *a, **k: Local())
    samples = [Sample(id=f"agent-h/{c}/general/q", bench="agent-h", category=c, tools=[WEATHER] if c == "a" else [],
                      messages=[{"role": "user", "content": "Weather in Paris?"}], native_tools=False,
                      expected=[{"name": "weather", "arguments": {"city": "Paris"}}] if c == "a" else [],
                      meta={"format": "general"}) for c in "ad"]
    agent_h.write(agent_h.BuildResult(samples, {"samples": 2}), tmp_path / "ah")
    (tmp_path / "local").mkdir()  # --model must name a folder; the backend above never reads it
    result = runner.invoke(app, ["eval", "run", "--bench", "agent-h", "--agent-h", str(tmp_path / "ah"),
                                 "--model", str(tmp_path / "local"), "-q", "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    reading = json.loads((tmp_path / "run" / "results.json").read_text())["reading"]
    assert reading["syntax"] == {"transformers": {"n": 1, "share": 50.0}, "none": {"n": 1, "share": 50.0}}
