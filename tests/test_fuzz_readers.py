"""Fuzz properties of every reader (issue 12): whatever damaged input a reader is given (`fuzz_inputs.cases`),
`convert` finishes, no exception escapes, no record is rejected as a reader's or writer's own failure
(``reader_error``, ``write:writer_error``),
read = written + rejected for the run and for each input, and every line written (output and rejects) and the
manifest are strict JSON.

CI runs a fixed, derandomised set of examples per reader (a few seconds each). To hunt for new failures:
``AGENTFLAN_FUZZ_EXAMPLES=2000 AGENTFLAN_FUZZ_EXPLORE=1 pytest tests/test_fuzz_readers.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan import formats, strictjson
from agentflan.pipeline.convert import ConvertResult, convert
from agentflan.pipeline.sources import SourceRecord, iter_records
from fuzz_inputs import SEEDS, Case, Seed, cases

FUZZ = settings(
    max_examples=int(os.environ.get("AGENTFLAN_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=not os.environ.get("AGENTFLAN_FUZZ_EXPLORE"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
WRITERS = ["canonical", "openai", "sharegpt", "agentflan"]


def test_every_reader_has_seeds() -> None:
    assert set(SEEDS) == set(formats.readers())


def assert_properties(result: ConvertResult) -> None:
    m = result.manifest
    assert m["read"] == m["written"] + m["rejected"]
    for entry in m["inputs"]:
        assert entry["read"] == entry["accepted"] + entry["rejected"], entry
    written = [strictjson.loads(line) for line in result.output.read_bytes().splitlines()]
    rejects = [strictjson.loads(line) for line in result.rejects.read_bytes().splitlines()]
    assert len(written) == m["written"] and len(rejects) == m["rejected"]
    crashed = [r for r in rejects if r["reason"] in ("reader_error", "write:writer_error")]
    assert crashed == [], crashed[0]["detail"]
    assert json.loads(result.manifest_path.read_text(), parse_constant=_refuse) == m


def _refuse(name: str) -> None:
    raise AssertionError(f"{name} in a manifest")


def run_case(case: Case, reader: str, to: str, auto: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = case.write(root / "in")
        result = convert(inputs, "auto" if auto else reader, to, root / "out.jsonl", show_progress=False)
        assert_properties(result)


@pytest.mark.parametrize("reader", sorted(SEEDS))
def test_damaged_input_never_breaks_a_reader(reader: str) -> None:
    seed = SEEDS[reader]
    others = [s for s in SEEDS.values() if s.reader != reader]

    @FUZZ
    @given(case=cases(seed, others), to=st.sampled_from(WRITERS), auto=st.booleans())
    def check(case: Case, to: str, auto: bool) -> None:
        run_case(case, reader, to, auto)

    check()


# Real corpora: the first records of one file per format, read in place, laid out and damaged the same way.
REAL = {
    "react": ("FireAct/gpt_format/hotpotqa.jsonl", "lines", "case.jsonl", ""),
    "agentinstruct": ("agent-data-protocol/agenttuning_os.sample_raw.json", "array", "case.json", ""),
    "toolbench": ("ToolBench/toolllama_processed_G1_demo_DFS_woFilter_w2.json", "array", "case.json", ""),
    "apibank": ("api-bank/lv1-lv2-samples/level-1-given-desc/AddAgenda-level-1-1.jsonl", "dialogue", "case.jsonl",
                "level-1-given-desc"),
    "tooltalk": ("ToolTalk/data/easy", "document", "case.json", "tooltalk"),
    "bfcl": ("gorilla/bfcl_v4/BFCL_v4_live_simple.json", "lines", "BFCL_v4_fuzz.json", ""),
    "instruction": ("self-instruct/seed_tasks.jsonl", "lines", "case.jsonl", ""),
    "questions": ("FastChat/mt_bench_question.jsonl", "lines", "case.jsonl", ""),
}


def real_seed(root: Path, reader: str) -> Seed:
    relative, layout, name, folder = REAL[reader]
    path = root / relative
    if path.is_dir():
        path = sorted(path.glob("*.json"))[0]
    records = [r.value for r in iter_records(path) if isinstance(r, SourceRecord)]
    side: dict[str, bytes] = {}
    if reader == "bfcl":
        answers = path.parent / "possible_answer" / path.name
        side["possible_answer/BFCL_v4_fuzz.json"] = b"".join(answers.read_bytes().splitlines(keepends=True)[:2])
    return Seed(reader, layout, records if layout == "dialogue" else records[:2], name, folder, side)


@pytest.mark.integration
@pytest.mark.parametrize("reader", sorted(REAL))
def test_damaged_real_records_never_break_a_reader(real_data: Path, reader: str) -> None:
    seed = real_seed(real_data, reader)

    @settings(FUZZ, max_examples=max(FUZZ.max_examples // 2, 5))
    @given(case=cases(seed, list(SEEDS.values())), to=st.sampled_from(WRITERS), auto=st.booleans())
    def check(case: Case, to: str, auto: bool) -> None:
        run_case(case, reader, to, auto)

    check()
