"""Golden outputs of `convert`, `build` and `audit` on the shared corpora, recorded from the code before issue 11's
refactoring, so that a test can prove the refactored commands write the same bytes: main at 7327f03 (after
issue 13b) plus 7f9a7e1, the fix that made the audit's top repeated sentence independent of hash order (without
it report.json differed between processes). Recorded with main's ``src/`` and ``LICENSE`` on PYTHONPATH.

Data files are compared by sha256. A manifest is compared key by key (the sha256 of each top-level value), so
that fields a later change adds are allowed while every field it had keeps its value; ``NEW_FIELDS`` names the
fields added inside existing values since the recording, which are removed before hashing.

The corpora are reached through a symlink ``data`` in the working folder, and every path is given relative to
it, so that no output holds a machine's absolute path and the digests hold on any machine with the corpora.

Record (only ever from a commit whose outputs are the reference)::

    AGENTFLAN_DATA=../shared/data python tests/golden.py tests/golden_outputs.json
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# (name, inputs under the data root, target format, output file name)
CONVERSIONS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("fireact", ("FireAct/gpt_format",), "canonical", "fireact.canonical.jsonl"),
    ("agentinstruct", ("agent-data-protocol",), "canonical", "agentinstruct.canonical.jsonl"),
    ("toolbench", ("ToolBench/data_example", "ToolBench/toolllama_processed_G1_demo_DFS_woFilter_w2.json",
                   "StableToolBench/data_example/answer"), "canonical", "toolbench.canonical.jsonl"),
    ("tooltalk", ("ToolTalk/data/easy", "ToolTalk/data/tooltalk"), "canonical", "tooltalk.canonical.jsonl"),
    ("apibank", ("api-bank/lv1-lv2-samples",), "canonical", "apibank.canonical.jsonl"),
    ("bfcl", ("gorilla/bfcl_v4",), "canonical", "bfcl.canonical.jsonl"),
    ("general", ("self-instruct/seed_tasks.jsonl", "self-instruct/user_oriented_instructions.jsonl",
                 "FastChat/mt_bench_question.jsonl"), "canonical", "general.canonical.jsonl"),
    *((f"hotpotqa-{fmt}", ("FireAct/gpt_format/hotpotqa.jsonl",), fmt, f"hotpotqa.{fmt}.jsonl")
      for fmt in ("openai", "react", "sharegpt", "hermes", "agentflan", "xlam", "swift", "trl")),
    ("apibank-gz", ("api-bank/lv1-lv2-samples",), "openai", "apibank.openai.jsonl.gz"),
)
BUILDS = ("agent-flan", "react-baseline", "demo")
AUDITS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("corpora", ("data/FireAct/gpt_format", "data/ToolBench/data_example/answer", "data/api-bank/lv1-lv2-samples",
                 "data/ToolTalk/data", "data/agent-data-protocol"),
     ("data/gorilla/bfcl_v4/BFCL_v4_simple_python.json",)),
    ("build", ("build/agent-flan/canonical.jsonl",), ("data/gorilla/bfcl_v4/BFCL_v4_simple_python.json",)),
)

# Fields added inside existing manifest values since the recording: {top-level key: names removed from each
# entry of its list (or from its dict)}.
NEW_FIELDS: dict[str, tuple[str, ...]] = {"recipe": ("held_out",)}  # issue 15: the held-out share (off by default)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def manifest_digests(path: Path) -> dict[str, str]:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for key, names in NEW_FIELDS.items():
        value = manifest.get(key)
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, dict):
                for name in names:
                    entry.pop(name, None)
    return {key: digest(value) for key, value in sorted(manifest.items()) if key != "argv"}


def describe(folder: Path) -> dict[str, Any]:
    """Every file under ``folder``: a manifest by its keys' digests, anything else by its sha256."""
    out: dict[str, Any] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.name.endswith("manifest.json"):
            out[name] = manifest_digests(path)
        else:
            out[name] = sha256(path)
    return out


@contextlib.contextmanager
def working_folder(data: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="agentflan-golden-") as tmp:
        work = Path(tmp)
        (work / "data").symlink_to(data.resolve(), target_is_directory=True)
        before = Path.cwd()
        os.chdir(work)
        try:
            yield work
        finally:
            os.chdir(before)


def produce(data: Path) -> dict[str, Any]:
    """Run every conversion, build and audit; the digests of what they wrote."""
    from agentflan.audit.run import AuditOptions, run_audit
    from agentflan.config import load_config
    from agentflan.construct.build import build
    from agentflan.construct.recipe import Recipe
    from agentflan.pipeline.convert import convert

    result: dict[str, Any] = {}
    with working_folder(data) as work:
        for name, inputs, fmt, out in CONVERSIONS:
            folder = work / "convert" / name
            folder.mkdir(parents=True)
            convert([f"data/{i}" for i in inputs], "auto", fmt, folder / out, show_progress=False)
            result[f"convert/{name}"] = describe(folder)
        for recipe in BUILDS:
            build(load_config(REPO / "recipes" / f"{recipe}.yaml", Recipe, []), work / "build" / recipe,
                  show_progress=False)
            result[f"build/{recipe}"] = describe(work / "build" / recipe)
        for name, inputs, against in AUDITS:
            opts = AuditOptions(against=tuple(Path(a) for a in against), show_progress=False)
            run_audit([Path(i) for i in inputs], work / "audit" / name, opts)
            result[f"audit/{name}"] = describe(work / "audit" / name)
    return result


if __name__ == "__main__":
    from agentflan.paths import data_root

    Path(sys.argv[1]).write_text(json.dumps(produce(data_root()), indent=1, sort_keys=True) + "\n",
                                 encoding="utf-8")
