"""Hypothesis strategies that damage real-shaped input files, for the fuzz properties of every reader (issue 12).

A *case* is the files one reader reads: seed records shaped like its corpus (from the repository's small format
fixtures, or from the real corpora), laid out as that corpus lays them out (JSON Lines, one document per file,
one array, API-Bank's one-dialogue-per-file, BFCL and ToolTalk with their side files), then damaged:

- in the values: a field deleted or given the wrong type, strings that look like broken calls or JSON, values
  wrapped hundreds of levels deep, and raw tokens no JSON encoder writes (NaN, Infinity, 1e999, integers of
  5,000 digits, 3,000 nested brackets, escaped lone surrogates);
- in the bytes: a record cut off, invalid UTF-8, a BOM, CRLF line ends, blank lines, a record of another
  format in the same file (mixed formats), a JSON Lines file named ``.json``, gzip.

Import from tests anywhere under ``tests/``::

    from fuzz_inputs import SEEDS, cases
"""

from __future__ import annotations

import copy
import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from agentflan.pipeline.sources import SourceRecord, iter_records
from agentflan.schema import Message, Tool, ToolCall, Trajectory

FIXTURES = Path(__file__).parent / "formats" / "fixtures"


@dataclass
class Seed:
    """Records shaped like a reader's corpus, and how that corpus lays them out on disk.

    ``layout``: ``lines`` (JSON Lines), ``array`` (one JSON array), ``document`` (one JSON document per file),
    ``dialogue`` (API-Bank: one file, one turn per line). ``side`` files are written beside the input, as the
    format's layout names them, and are damaged too."""

    reader: str
    layout: str
    records: list[Any]
    name: str = "case.jsonl"
    folder: str = ""
    side: dict[str, bytes] = field(default_factory=dict)


def _values(path: Path) -> list[Any]:
    return [r.value for r in iter_records(path) if isinstance(r, SourceRecord)]


def _canonical() -> dict[str, Any]:
    weather = Tool(name="weather", description="Weather for a city.",
                   parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    return Trajectory(id="c1", tools=[weather], messages=[
        Message(role="user", content="Weather in Oslo?"),
        Message(role="assistant", tool_calls=[ToolCall(id="k", name="weather", arguments={"city": "Oslo"})]),
        Message(role="tool", content='{"t": 3}', tool_call_id="k", name="weather"),
        Message(role="assistant", content="3 °C.")]).to_dict()


_HERMES_SYSTEM = ("You are a function calling AI model.\n<tools>\n[{'type': 'function', 'function': {'name': "
                  "'search', 'description': 'Find.', 'parameters': {'type': 'object', 'properties': {'q': "
                  "{'type': 'string'}}, 'required': ['q']}}}]\n</tools>\n")
_XLAM_TOOLS = [{"name": "weather", "description": "Weather.", "parameters": {
    "city": {"description": "City.", "type": "str", "default": ""}}}]


def seeds_from_fixtures() -> dict[str, Seed]:
    fc, rf = FIXTURES / "fc", FIXTURES / "react_family"
    bfcl_side = {f"possible_answer/{p.name}": p.read_bytes() for p in (fc / "bfcl" / "possible_answer").iterdir()}
    bfcl_side.update({f"multi_turn_func_doc/{p.name}": p.read_bytes()
                      for p in (fc / "bfcl" / "multi_turn_func_doc").iterdir()})
    bfcl_side["possible_answer/BFCL_v4_fuzz.json"] = bfcl_side["possible_answer/BFCL_v4_demo_simple.json"]
    return {s.reader: s for s in [
        Seed("canonical", "lines", [_canonical()]),
        Seed("openai", "lines", _values(fc / "openai_mixed.jsonl")[:2]),
        Seed("agentflan", "lines", _values(fc / "agentflan_rows.jsonl")[:2]
             + _values(FIXTURES / "agentflan_release" / "rows.jsonl")[:3]),
        Seed("sharegpt", "lines", _values(fc / "sharegpt_rows.jsonl")[:2]),
        Seed("hermes", "lines", [{"id": "h", "conversations": [
            {"from": "system", "value": _HERMES_SYSTEM}, {"from": "human", "value": "Find agentflan."},
            {"from": "gpt", "value": "<tool_call>\n{'arguments': {'q': 'agentflan'}, 'name': 'search'}\n</tool_call>"},
            {"from": "tool", "value": "<tool_response>\n{\"n\": 1}\n</tool_response>"},
            {"from": "gpt", "value": "Found it."}]}]),
        Seed("xlam", "lines", [{"id": 7, "query": "Weather in Paris?", "tools": json.dumps(_XLAM_TOOLS),
                                "answers": json.dumps([{"name": "weather", "arguments": {"city": "Paris"}}])}]),
        Seed("react", "lines", _values(rf / "fireact.jsonl")[:2]),
        Seed("agentinstruct", "array", _values(rf / "agentinstruct_domains.json")[:2], name="case.json"),
        Seed("toolbench", "document", _values(rf / "toolbench_answer.json"), name="case.json", folder="G1_answer"),
        Seed("apibank", "dialogue", _values(fc / "apibank" / "level-1-given-desc" / "OrderPizza-Weather-level-1-1.jsonl"),
             folder="level-1-given-desc",
             side={"../level-2-toolsearcher/OrderPizza-level-3-1.jsonl":
                   (fc / "apibank" / "level-2-toolsearcher" / "OrderPizza-level-3-1.jsonl").read_bytes()}),
        Seed("tooltalk", "document", _values(fc / "tooltalk" / "tooltalk" / "FeedCat-0.json"), name="case.json",
             folder="tooltalk", side={"../easy/WalkDog-0.json": (fc / "tooltalk" / "easy" / "WalkDog-0.json").read_bytes()}),
        Seed("bfcl", "lines", _values(fc / "bfcl" / "BFCL_v4_demo_simple.json")[:2]
             + _values(fc / "bfcl" / "BFCL_v4_demo_multi_turn.json")[:1], name="BFCL_v4_fuzz.json", side=bfcl_side),
        Seed("instruction", "lines", [{"instruction": "Sort the words.", "input": "b a", "output": "a b"}]),
        Seed("questions", "lines", [{"question_id": 81, "category": "writing", "turns": ["Write a haiku.", "Again."]}]),
    ]}


SEEDS = seeds_from_fixtures()

# Values a field may be given instead of its own.
WRONG = [None, True, 0, -1, 2**63, 1.5, "", "x", [], {}, [None], {"": None}]
# Strings that look like calls, JSON or ReAct, cut off or broken: what the readers parse inside records.
TRICKY = ["{", "[", '{"a": NaN}', '{"a": 1e999}', '{"a": ' + "[" * 400 + "]" * 400 + "}", "1e999", "NaN",
          "\x00", "Thought: x\nAction: y[", 'Action: f\nAction Input: {"a": ', '<tool_call>\n{"name": "f", "arg',
          "<tool_call>\n{'name': 'f', 'arguments': {'x': 1e999}}\n</tool_call>", "f(x=" + "-" * 2000 + "1)",
          "```json\n{\"name\": \"f\", \"arguments\": {\"a\": Infinity}}\n```", "é中文\u202e", "\ufeff{}"]
# Raw JSON text no encoder writes, put in place of a value.
RAW = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 5000, "[" * 3000 + "]" * 3000, '"\\ud800"',
       '"x\\udfffy"', '{"a": ' * 200 + "1" + "}" * 200]


def _paths(value: Any) -> list[tuple[Any, ...]]:
    """Every path in a JSON value (iteratively: values may be deep)."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        out.append(path)
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated_value(draw: st.DrawFn, record: Any, raw: list[str]) -> Any:
    """``record`` with up to three fields damaged; raw tokens go in as ``@@RAWn@@`` placeholders (see `dumps`)."""
    value = copy.deepcopy(record)
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["wrong", "tricky", "raw", "wrap", "delete", "cut"]))
        current = _get(value, path)
        if op == "wrong":
            new: Any = copy.deepcopy(draw(st.sampled_from(WRONG)))  # shared, and later ops may change it
        elif op == "tricky" or (op == "cut" and not isinstance(current, str)):
            new = draw(st.sampled_from(TRICKY))
        elif op == "cut":
            new = current[: draw(st.integers(0, len(current)))]
        elif op == "raw":
            raw.append(draw(st.sampled_from(RAW)))
            new = f"@@RAW{len(raw) - 1}@@"
        elif op == "wrap":
            new = current
            for _ in range(draw(st.sampled_from([1, 2, 50, 129, 300]))):
                new = [new]
        else:  # delete
            if not path:
                continue
            parent = _get(value, path[:-1])
            del parent[path[-1]]
            continue
        if not path:
            value = new
        else:
            _get(value, path[:-1])[path[-1]] = new
    return value


def dumps(value: Any, raw: list[str]) -> str:
    text = json.dumps(value, ensure_ascii=False)
    for i, token in enumerate(raw):
        text = text.replace(f'"@@RAW{i}@@"', token)
    return text


@dataclass
class Case:
    """The files of one fuzz case (path relative to the case folder → bytes); ``inputs`` are read, the rest are
    side files."""

    files: dict[str, bytes]
    inputs: list[str]

    def write(self, root: Path) -> list[Path]:
        for rel, data in self.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return [root / rel for rel in self.inputs]


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes, lines: bool) -> bytes:
    """``data`` with some of: a cut, invalid UTF-8, a BOM, CRLF ends, blank lines."""
    for op in draw(st.lists(st.sampled_from(["cut", "utf8", "bom", "crlf", "blank"]), max_size=3, unique=True)):
        if op == "cut" and data:
            data = data[: draw(st.integers(0, len(data) - 1))] + (b"\n" if lines else b"")
        elif op == "utf8":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + data[at:]
        elif op == "bom":
            data = b"\xef\xbb\xbf" + data
        elif op == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif op == "blank":
            data = b"\n\n" + data.replace(b"\n", b"\n\n", 1)
    return data


@st.composite
def cases(draw: st.DrawFn, seed: Seed, others: list[Seed] | None = None) -> Case:
    """One damaged case for ``seed``'s reader (``others``: seeds whose records may be mixed into a file)."""
    raw: list[str] = []
    records = [draw(mutated_value(r, raw)) for r in draw(st.lists(st.sampled_from(seed.records), min_size=1,
                                                                   max_size=3))]
    texts = [dumps(r, raw) for r in records]
    if others and seed.layout in ("lines", "dialogue") and draw(st.booleans()):
        stranger = draw(st.sampled_from(others))
        texts.insert(draw(st.integers(0, len(texts))), json.dumps(draw(st.sampled_from(stranger.records))))
    if seed.layout == "array":
        data = ("[" + ",\n".join(texts) + "]").encode("utf-8", "surrogatepass")
    elif seed.layout == "document":
        data = texts[0].encode("utf-8", "surrogatepass")
    else:
        data = "".join(t + "\n" for t in texts).encode("utf-8", "surrogatepass")
    data = draw(damaged_bytes(data, lines=seed.layout in ("lines", "dialogue")))
    name = seed.name
    if seed.layout == "lines" and seed.reader != "bfcl" and draw(st.booleans()):
        name = "case.json"  # JSON Lines under a .json name, as BFCL's files are
    if seed.reader != "bfcl" and draw(st.integers(0, 5)) == 0:
        data, name = gzip.compress(data, mtime=0), name + ".gz"
    folder = f"{seed.folder}/" if seed.folder else ""
    files = {f"{folder}{name}": data}
    for rel, side in seed.side.items():
        damaged = draw(damaged_bytes(side, lines=True)) if draw(st.integers(0, 3)) == 0 else side
        files[folder + rel] = damaged
    return Case({_normal(k): v for k, v in files.items()}, [_normal(f"{folder}{name}")])


def _normal(rel: str) -> str:
    return os.path.normpath(rel)
