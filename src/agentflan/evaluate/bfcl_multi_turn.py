"""BFCL v4 multi-turn categories: episodes against BFCL's simulated APIs, scored by state and by response.

Each entry is a conversation of several user turns over stateful APIs (a file system, a trading bot, a ticket
desk...). In every turn the model may take up to 20 steps: each step's calls are executed on the model's own
copy of the APIs and their results are sent back, until it replies without a call. The ground truth's calls are
executed on another copy. An entry is correct when, after every turn whose ground truth makes calls, the two
copies are in the same state (public attributes equal) and every result of the ground truth's calls of that turn
is among the results the model's calls have produced so far; and when, in every turn whose ground truth makes no
call (a function or a parameter is missing: ``miss_func``, ``miss_param``), the model makes none either. These
are BFCL's own rules (its ``multi_turn_checker`` and ``multi_turn_irrelevance_checker``), reimplemented.

- ``multi_turn_base``, ``multi_turn_long_context`` (the APIs loaded with large states);
- ``multi_turn_miss_param``: a turn leaves out a needed argument; the right reply asks for it;
- ``multi_turn_miss_func``: a needed function is withheld until a later turn, where it is added to the tools with
  BFCL's prompt "I have updated some more functions you can choose from. What about now?".

The simulated APIs are BFCL's Python classes, from the ``bfcl-eval`` wheel (downloaded once into the cache, as
for the data). Calls are never evaluated as code: the model's calls come from the reply parser and the ground
truth's call strings are parsed into literal arguments (`agentflan.callsyntax`), then the method is looked up
by name among the involved classes and called with those arguments.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan.callsyntax import parse_python_call
from agentflan.errors import InputError
from agentflan.evaluate import bfcl
from agentflan.evaluate.backends import Backend, GenerationError
from agentflan.evaluate.benchmark import Loaded
from agentflan.evaluate.classify import Reader
from agentflan.evaluate.samples import Sample, plain_schema
from agentflan.formats.base import SideFile
from agentflan.pipeline.inputs import InputFile, Inputs
from agentflan.pipeline.sources import Reject
from agentflan.toolschema import normalise_schema

CATEGORIES = ("multi_turn_base", "multi_turn_miss_param", "multi_turn_miss_func", "multi_turn_long_context")
# API class → the module (and function-doc file) BFCL keeps it in.
API_MODULES = {"GorillaFileSystem": "gorilla_file_system", "MathAPI": "math_api", "MessageAPI": "message_api",
               "TwitterAPI": "posting_api", "TicketAPI": "ticket_api", "TradingBot": "trading_bot",
               "TravelAPI": "travel_booking", "VehicleControlAPI": "vehicle_control"}
STATELESS = frozenset({"MathAPI"})  # no scenario to load
MODULE_PREFIX = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
MAX_STEPS = 20  # per turn, as BFCL
_POSITIONAL = re.compile(r"arg\d+")
ADDED_FUNCTIONS_PROMPT = "I have updated some more functions you can choose from. What about now?"


@dataclass
class Entry:
    id: str
    category: str
    turns: list[list[dict[str, Any]]]  # each turn's user messages (a miss_func turn may have none)
    initial_config: dict[str, Any]
    classes: list[str]
    tools: dict[str, dict[str, Any]]  # every function of the involved classes, by name, as offered
    ground_truth: list[list[str]]  # each turn's calls, as BFCL writes them: "mv(source='a', destination='b')"
    excluded: list[str] = field(default_factory=list)  # never offered
    missed: dict[int, list[str]] = field(default_factory=dict)  # turn → functions offered from that turn on

    def offered(self, turn: int) -> list[dict[str, Any]]:
        held = {name for t, names in self.missed.items() if t > turn for name in names}
        return [tool for name, tool in self.tools.items() if name not in held and name not in self.excluded]


def load_entries(category: str, data: Path | None = None, limit: int | None = None,
                 inputs: Inputs | None = None) -> tuple[list[Entry], list[Reject]]:
    """The entries of one multi-turn category with their ground truth and function docs, read through
    ``inputs`` when given (the question file, and its ``possible_answer`` and function docs as side files)."""
    inputs = inputs if inputs is not None else Inputs()
    (questions,) = inputs.add([bfcl.question_file(category, data)], "bfcl")
    truth = questions.path.parent / "possible_answer" / questions.path.name
    answered = inputs.side_file(truth, questions)
    if answered is None:
        raise InputError(f"{truth}: BFCL ground truth not found (the multi-turn categories need it)")
    answers = {v["id"]: v["ground_truth"] for v in answered.records
               if isinstance(v, dict) and "id" in v and "ground_truth" in v}
    docs: dict[str, dict[str, dict[str, Any]]] = {}
    entries: list[Entry] = []
    rejects: list[Reject] = []
    for rec in inputs.records(questions):
        if isinstance(rec, Reject):
            rejects.append(rec)
            continue
        try:
            entry = _entry(rec.value, category, answers, docs, questions, inputs)
        except (KeyError, TypeError, ValueError) as exc:
            rejects.append(Reject(questions.source, "bad_entry", f"{type(exc).__name__}: {exc}", line=rec.line,
                                  index=rec.index))
            continue
        if isinstance(entry, str):
            rejects.append(Reject(questions.source, "unsupported_entry", entry, line=rec.line, index=rec.index))
            continue
        entries.append(entry)
        if limit is not None and len(entries) >= limit:
            break
    return entries, rejects


def _entry(value: Any, category: str, answers: dict[str, Any], docs: dict[str, dict[str, dict[str, Any]]],
           questions: InputFile, inputs: Inputs) -> Entry | str:
    """One entry, or why it cannot be played."""
    classes = list(value["involved_classes"])
    unknown = [c for c in classes if c not in API_MODULES]
    if unknown or value["id"] not in answers:
        return f"unknown API class {unknown[0]}" if unknown else "no ground truth"
    tools: dict[str, dict[str, Any]] = {}
    for cls in classes:
        if cls not in docs:
            doc_file = questions.path.parent / "multi_turn_func_doc" / f"{API_MODULES[cls]}.json"
            docs[cls] = _function_docs(doc_file, inputs.side_file(doc_file, questions))
        tools.update(docs[cls])
    return Entry(id=value["id"], category=category, turns=[list(t) for t in value["question"]],
                 initial_config=value.get("initial_config") or {}, classes=classes, tools=tools,
                 ground_truth=answers[value["id"]], excluded=list(value.get("excluded_function") or []),
                 missed={int(k): list(v) for k, v in (value.get("missed_function") or {}).items()})


def _function_docs(path: Path, side: SideFile | None) -> dict[str, dict[str, Any]]:
    if side is None:
        raise InputError(f"{path}: BFCL function docs not found (the multi-turn categories need them)")
    out: dict[str, dict[str, Any]] = {}
    for doc in side.records:
        out[doc["name"]] = {"name": doc["name"], "description": doc.get("description", ""),
                            "parameters": normalise_schema(doc.get("parameters"))}
    return out


class BFCLMultiTurn(bfcl.BFCLCategories):
    """BFCL's multi-turn categories as an `eval run` benchmark (`evaluate.benchmark.Benchmark`): episodes
    against the simulated APIs."""

    def load(self, inputs: Inputs) -> Loaded:
        loaded = Loaded(source={"categories": self.asked})
        for category in self.categories:
            entries, rejects = load_entries(category, self.data, self.limit, inputs)
            loaded.episodes.extend(entries)
            loaded.rejects.extend(rejects)
        return loaded


# --- the simulated APIs ---------------------------------------------------------------------------------------


def api_classes(source: Path | None = None) -> dict[str, type]:
    """BFCL's API classes, imported from the extracted ``bfcl-eval`` wheel (``source``: a folder holding the
    ``bfcl_eval`` package; default: the cache, fetched once)."""
    from agentflan.bfcldata import bfcl_source

    root = source or bfcl_source()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    out: dict[str, type] = {}
    for cls, module in API_MODULES.items():
        out[cls] = getattr(importlib.import_module(f"{MODULE_PREFIX}.{module}"), cls)
    return out


class World:
    """One copy of an entry's APIs, in one state (the model's, or the ground truth's)."""

    def __init__(self, entry: Entry, classes: Mapping[str, type]) -> None:
        self.instances: dict[str, Any] = {}
        self.methods: dict[str, Callable[..., Any]] = {}
        long_context = "long_context" in entry.category
        for name in entry.classes:
            instance = classes[name]()
            if name not in STATELESS:
                instance._load_scenario(copy.deepcopy(entry.initial_config.get(name, {})),
                                        long_context=long_context)
            self.instances[name] = instance
            for method_name, method in inspect.getmembers(instance, predicate=inspect.ismethod):
                if not method_name.startswith("_"):
                    self.methods[method_name] = method

    def call(self, name: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> str:
        """The result as text (JSON for a dict), or BFCL's "Error during execution: ..." text."""
        method = self.methods.get(name)
        if method is None:
            return f"Error during execution: name '{name}' is not defined"
        kwargs = dict(kwargs or {})
        if not args and any(_POSITIONAL.fullmatch(k) for k in kwargs):
            # The reply parser names a Python-style call's positional arguments arg0, arg1, ...
            params = inspect.signature(method).parameters
            args = [kwargs.pop(k) for k in sorted((k for k in list(kwargs) if _POSITIONAL.fullmatch(k)
                                                   and k not in params), key=lambda k: int(k[3:]))]
        try:
            result = method(*args, **kwargs)
        except Exception as exc:  # the API's own errors (and bad arguments) are results the model must read
            return f"Error during execution: {exc}"
        if isinstance(result, str):
            return result
        try:
            return json.dumps(result)
        except (TypeError, ValueError):
            return str(result)

    def call_text(self, call: str) -> str:
        """A ground-truth call string, parsed (literal arguments only) and executed."""
        try:
            parsed = parse_python_call(call)
        except ValueError as exc:
            return f"Error during execution: {exc}"
        if parsed is None:
            return f"Error during execution: not a call: {call!r}"
        name, arguments = parsed
        return self.call(name, (), arguments)

    def state(self) -> dict[str, dict[str, Any]]:
        """Every stateful instance's public attributes (what BFCL's state checker compares)."""
        return {name: {k: copy.deepcopy(v) for k, v in vars(inst).items() if not k.startswith("_")}
                for name, inst in self.instances.items()}


# --- episodes -------------------------------------------------------------------------------------------------


@dataclass
class Episode:
    entry: Entry
    world: World
    messages: list[dict[str, Any]] = field(default_factory=list)
    # Per turn, per step: the calls the model made, as (name, arguments).
    calls: list[list[list[tuple[str, dict[str, Any]]]]] = field(default_factory=list)
    results: list[list[str]] = field(default_factory=list)  # per turn: results of the model's calls
    states: list[dict[str, dict[str, Any]]] = field(default_factory=list)  # after each turn
    errors: list[str] = field(default_factory=list)  # backend failures


def run_episodes(entries: Sequence[Entry], backend: Backend, classes: Mapping[str, type],
                 max_steps: int = MAX_STEPS, on_step: Callable[[int], None] | None = None,
                 reader: Reader | None = None) -> list[Episode]:
    """Every entry played turn by turn; the steps of all entries still acting are sent to the backend
    together, so batching backends stay busy. ``reader`` reads each step's calls (default: every syntax)."""
    reader = reader or Reader()
    episodes = [Episode(e, World(e, classes)) for e in entries]
    for turn in range(max((len(e.turns) for e in entries), default=0)):
        acting: list[Episode] = []
        for ep in episodes:
            if turn >= len(ep.entry.turns):
                continue
            user = ep.entry.turns[turn]
            if not user and turn in ep.entry.missed:
                user = [{"role": "user", "content": ADDED_FUNCTIONS_PROMPT}]
            ep.messages.extend({"role": m["role"], "content": m["content"]} for m in user)
            ep.calls.append([])
            ep.results.append([])
            acting.append(ep)
        for _ in range(max_steps):
            if not acting:
                break
            samples = [Sample(id=f"{ep.entry.id}/turn{turn}/step{len(ep.calls[turn])}", bench="bfcl",
                              category=ep.entry.category, messages=list(ep.messages),
                              tools=[plain_schema(t) for t in ep.entry.offered(turn)]) for ep in acting]
            replies = backend.generate(samples)
            if on_step is not None:
                on_step(len(samples))
            still: list[Episode] = []
            for ep, sample, reply in zip(acting, samples, replies, strict=True):
                if isinstance(reply, GenerationError):
                    ep.errors.append(reply.message)
                    continue
                schemas = {t["name"]: t.get("parameters", {}) for t in sample.tools}
                parsed = reader.read(reply, schemas, sample)
                if not parsed.calls:
                    ep.messages.append({"role": "assistant", "content": parsed.text})
                    continue
                step = [(c.name, c.arguments) for c in parsed.calls]
                ep.calls[turn].append(step)
                ids = [f"call_{turn}_{len(ep.calls[turn])}_{i}" for i in range(len(step))]
                ep.messages.append({"role": "assistant", "content": parsed.text, "tool_calls": [
                    {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                    for cid, (name, args) in zip(ids, step, strict=True)]})
                for cid, (name, args) in zip(ids, step, strict=True):
                    result = ep.world.call(name, (), args)
                    ep.results[turn].append(result)
                    ep.messages.append({"role": "tool", "tool_call_id": cid, "name": name, "content": result})
                still.append(ep)
            acting = still
        for ep in episodes:
            if turn < len(ep.entry.turns):
                ep.states.append(ep.world.state())
    return episodes


# --- scoring --------------------------------------------------------------------------------------------------


def check(episode: Episode, classes: Mapping[str, type]) -> dict[str, Any]:
    """BFCL's verdict on one played entry: ``{"valid": bool, "error_type": ..., "turn": ...}``."""
    entry = episode.entry
    if episode.errors:
        return {"valid": False, "error_type": "backend_error", "detail": episode.errors[0]}
    truth = World(entry, classes)
    model_results: list[str] = []
    for turn, calls in enumerate(entry.ground_truth):
        made = episode.calls[turn] if turn < len(episode.calls) else []
        truth_results = [truth.call_text(c) for c in calls]
        model_results.extend(episode.results[turn] if turn < len(episode.results) else [])
        if not calls:
            if any(made):
                return {"valid": False, "error_type": "multi_turn:irrelevance_error", "turn": turn,
                        "detail": "calls made in a turn that needs none (a function or argument is missing)"}
            continue
        if not any(made):
            return {"valid": False, "error_type": "multi_turn:empty_turn_model_response", "turn": turn}
        state = episode.states[turn] if turn < len(episode.states) else {}
        expected = truth.state()
        differing = sorted(name for name in expected if state.get(name) != expected[name])
        if differing:
            return {"valid": False, "error_type": "multi_turn:instance_state_mismatch", "turn": turn,
                    "detail": f"state of {', '.join(differing)} differs"}
        missing = _missing(truth_results, model_results)
        if missing:
            return {"valid": False, "error_type": "multi_turn:execution_response_mismatch", "turn": turn,
                    "detail": f"{len(missing)} ground-truth result(s) never produced, e.g. {missing[0][:120]!r}"}
    return {"valid": True}


def _missing(expected: list[str], produced: list[str]) -> list[str]:
    """Results of ``expected`` not matched one-for-one by ``produced``, in any order."""
    pool = list(produced)
    missing = []
    for item in expected:
        if item in pool:
            pool.remove(item)
        else:
            missing.append(item)
    return missing
