"""`agentflan eval run` end to end: a tiny local model, and an OpenAI-compatible server started by the test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from agentflan.cli import app
from agentflan.evaluate import agent_h
from agentflan.evaluate.samples import GENERAL_PROMPT, REACT_PROMPT, Sample, system_prompt
from agentflan.schema import Message, Trajectory
from tool_naming import tool_naming

runner = CliRunner()

WEATHER = {"name": "weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
QUERIES = {"a": "What is the weather in Paris?", "b": "Write a haiku about autumn.",
           "c": "Book me a flight to Rome tomorrow.", "d": "What is the capital of France?"}
AGENT_H_KEYS = {"n", "H_ReAct", "H_General", "HScore", "react_keyword_rate", "general_keyword_rate",
                "react_strict_no_call_rate", "general_strict_no_call_rate", "by_circumstance_format",
                "call_accuracy", "call_accuracy_react", "call_accuracy_general"}


def _agent_h_dir(tmp: Path) -> Path:
    """A small Agent-H set written in the builder's own sample shape: each circumstance at both levels."""
    samples = []
    for c, query in QUERIES.items():
        tools = [WEATHER] if c in ("a", "b") else []
        expected = [{"name": "weather", "arguments": {"city": "Paris"}}] if c == "a" else []
        for fmt in agent_h.FORMATS:
            samples.append(Sample(id=f"agent-h/{c}/{fmt}/q{c}", bench="agent-h", category=c,
                                  messages=[{"role": "system", "content": system_prompt(fmt, tools)},
                                            {"role": "user", "content": query}],
                                  tools=tools, expected=expected, native_tools=False,
                                  meta={"format": fmt, "source": "test"}))
    out = tmp / "agent-h"
    agent_h.write(agent_h.BuildResult(samples, {"samples": len(samples)}), out)
    return out


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agentflan.train.config import TinyModel
    from agentflan.train.tiny import build_model, train_tokenizer

    cfg = TinyModel(vocab_size=400, hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2)
    texts = [*QUERIES.values(), REACT_PROMPT, GENERAL_PROMPT, json.dumps(WEATHER)]
    trajs = [Trajectory(id=str(i), messages=[Message(role="user", content=t)]) for i, t in enumerate(texts)]
    tokenizer = train_tokenizer(trajs, cfg)
    model = build_model(cfg, tokenizer, seed=0)
    path = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.mark.slow
def test_run_with_a_tiny_local_model(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "run", "--bench", "agent-h", "--agent-h", str(_agent_h_dir(tmp_path)),
                                 "--model", str(tiny_model), "--backend", "transformers", "--max-new-tokens", "8",
                                 "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert set(results["benchmarks"]["agent-h"]) >= AGENT_H_KEYS
    assert results["backend"]["backend"] == "transformers"
    replies = [json.loads(line) for line in (out / "replies.jsonl").read_text().splitlines()]
    assert len(replies) == results["scored"] == 8
    assert all(isinstance(r["reply"], str) and r["outcome"] for r in replies)
    assert "Open Agent-H" in (out / "results.md").read_text()


class _Canned(BaseHTTPRequestHandler):
    """Answers like a server would: a native call when tools are offered and the query asks for the weather,
    a ReAct call for the same query under the ReAct prompt, plain text otherwise; fails the first request."""

    calls: ClassVar[list[dict]] = []
    answers: ClassVar[dict[str, dict]] = {}  # user text → message, checked first
    continuations: ClassVar[dict[str, dict]] = {}  # the assistant turn a request ends on → the next turn
    failed_once = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        if not type(self).failed_once:
            type(self).failed_once = True
            self.send_response(503)
            self.end_headers()
            return
        user = body["messages"][-1]["content"]
        system = body["messages"][0]["content"]
        message: dict = {"role": "assistant", "content": "I cannot help with that."}
        if body["messages"][-1]["role"] == "assistant":
            message = type(self).continuations.get(user, message)
        elif user in type(self).answers:
            message = type(self).answers[user]
        elif "weather" in user and "Thought:" in system:
            message["content"] = 'Thought: I need it.\nAction: weather\nAction Input: {"city": "Paris"}'
        elif "weather" in user:
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c0", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]}
        elif "flight" in user:
            message["content"] = "I will use the booking tool for that."  # the paper's keyword rule catches it
        data = json.dumps({"choices": [{"message": message}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Canned.calls = []
    _Canned.answers = {}
    _Canned.continuations = {}
    _Canned.failed_once = False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_run_against_an_openai_compatible_server(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setenv("AGENTFLAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("agentflan.evaluate.backends.openai_http.time.sleep", lambda s: None)
    ah = _agent_h_dir(tmp_path)
    args = ["eval", "run", "--bench", "agent-h", "--agent-h", str(ah), "--endpoint", server, "--model-name", "m",
            "--concurrency", "4", "-q"]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "run1")])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run1" / "results.json").read_text())
    ah_metrics = results["benchmarks"]["agent-h"]
    assert set(ah_metrics) >= AGENT_H_KEYS
    assert results["errors"] == 0 and results["scored"] == 8
    # a: both levels call correctly; b, d: refusals; c: "I will use" is a hallucination at the general level only.
    assert ah_metrics["call_accuracy"] == 100.0
    assert ah_metrics["H_ReAct"] == 0.0
    assert ah_metrics["H_General"] == pytest.approx(100 / 3, abs=0.01)
    assert ah_metrics["HScore"] == pytest.approx(0.5 * (100 + (100 - 100 / 3)), abs=0.01)
    assert len(_Canned.calls) == 9  # 8 samples + one retried 503
    # A rerun is answered from the cache: no request reaches the server.
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "run2")])
    assert result.exit_code == 0, result.output
    assert len(_Canned.calls) == 9
    again = json.loads((tmp_path / "run2" / "results.json").read_text())
    assert again["benchmarks"] == results["benchmarks"]
    assert again["backend"]["cache_hits"] == 8
    compared = runner.invoke(app, ["eval", "compare", str(tmp_path / "run1"), str(tmp_path / "run2"), "--markdown"])
    assert compared.exit_code == 0
    assert "| agent-h.HScore | 83.33 | 83.33 |" in compared.output


def test_a_reply_ending_on_a_tool_naming_sentence_is_continued(server: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose model writes the Agent-FLAN layout, one assistant part per turn."""
    monkeypatch.setattr("agentflan.evaluate.backends.openai_http.time.sleep", lambda s: None)
    naming = tool_naming("weather")
    _Canned.answers[QUERIES["a"]] = {"role": "assistant", "content": naming}
    _Canned.continuations[naming] = {"role": "assistant", "content": '```json\n{"city": "Paris"}\n```'}
    result = runner.invoke(app, ["eval", "run", "--bench", "agent-h", "--agent-h", str(_agent_h_dir(tmp_path)),
                                 "--endpoint", server, "--model-name", "m", "--no-cache", "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "continued: 2" in result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["benchmarks"]["agent-h"]["call_accuracy"] == 100.0
    assert results["reading"]["syntax"]["agentflan"]["n"] == 2
    asked = [b["messages"] for b in _Canned.calls if b["messages"][-1]["role"] == "assistant"]
    assert len(asked) == 2 and all(m[-1] == {"role": "assistant", "content": naming} for m in asked)
    replies = [json.loads(line) for line in (tmp_path / "run" / "replies.jsonl").read_text().splitlines()]
    continued = [r for r in replies if r.get("continued")]
    assert [r["reply"][0]["content"] for r in continued] == [naming, naming]


def test_server_errors_are_recorded_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agentflan.evaluate.backends.openai_http.time.sleep", lambda s: None)
    ah = _agent_h_dir(tmp_path)
    with (ah / "agent_h.jsonl").open("a") as f:
        f.write('{"id": "broken", "bench": "agent-h"}\n')  # a sample missing its fields
    result = runner.invoke(app, ["eval", "run", "--bench", "agent-h", "--agent-h", str(ah),
                                 "--endpoint", "http://127.0.0.1:9", "--model-name", "m", "--no-cache", "-q",
                                 "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert (results["errors"], results["scored"], results["rejected"]) == (8, 0, {"agent-h:bad_sample": 1})
    assert "ConnectError" in results["error_examples"][0]
    rejects = [json.loads(line) for line in (tmp_path / "run" / "rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [(9, "bad_sample")]


@pytest.mark.integration
def test_bfcl_through_the_server(server: str, real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                 ) -> None:
    """Gold answers sent back as native tool calls with OpenAI-safe names (math_factorial) score 100%; refusals
    on irrelevance score a 100% no-call rate."""
    from shapes import gold_calls, render

    from agentflan.evaluate import bfcl

    monkeypatch.setenv("AGENTFLAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("agentflan.evaluate.backends.openai_http.time.sleep", lambda s: None)
    root = real_data / "gorilla" / "bfcl_v4"
    for s in bfcl.load_samples(["simple_python"], root, limit=5):
        calls = [{**c, "name": c["name"].replace(".", "_")} for c in gold_calls(s.expected, s.tools)]
        _Canned.answers[s.messages[-1]["content"]] = render(calls, "openai")
    result = runner.invoke(app, ["eval", "run", "--bench", "bfcl.simple_python", "--bench", "bfcl.irrelevance",
                                 "--limit", "5", "--data", str(real_data), "--endpoint", server, "--model-name", "m",
                                 "-q", "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    sent_tools = [t["function"]["name"] for body in _Canned.calls for t in body.get("tools", [])]
    assert "math_factorial" in sent_tools and not any("." in n for n in sent_tools)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    metrics = results["benchmarks"]["bfcl"]
    assert (metrics["simple_python"]["n"], metrics["simple_python"]["accuracy"]) == (5, 100.0)
    assert (metrics["irrelevance"]["n"], metrics["irrelevance"]["no_call_rate"]) == (5, 100.0)
    assert results["sources"]["bfcl"]["categories"] == ["simple_python", "irrelevance"]
    assert "## BFCL v4" in (tmp_path / "run" / "results.md").read_text()
