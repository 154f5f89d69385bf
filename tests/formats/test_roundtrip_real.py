"""Round trips on the real corpora: read with the detected reader → write → read back → equal.

Lossless pairs: ``canonical`` and ``openai`` (every trajectory). The ``agentflan`` writer is checked to emit
release-shaped rows for every real trajectory (it is not lossless: see its module docstring).
"""

from __future__ import annotations

import json

import pytest

from agentflan.formats import reader, writer, writers
from agentflan.formats.base import RecordContext
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.sources import expand_inputs
from agentflan.schema import Trajectory

pytestmark = pytest.mark.integration

CORPORA = [
    "agent-data-protocol",
    "FireAct/gpt_format",
    "ToolBench/data_example/answer",
    "StableToolBench/data_example/answer",
    "ToolBench/toolllama_processed_G1_demo_DFS_woFilter_w2.json",
    "ToolTalk/data/tooltalk",
    "ToolTalk/data/easy",
    "api-bank/lv1-lv2-samples",
    "gorilla/bfcl_v4",
]


def _through(fmt: str, t: Trajectory) -> Trajectory:
    record = json.loads(json.dumps(writer(fmt).write(t), ensure_ascii=False))
    ctx = RecordContext(path="roundtrip.jsonl", index=0, format=fmt)
    (back,) = reader(fmt).read(record, ctx)
    return back


@pytest.mark.parametrize("corpus", CORPORA)
def test_real_corpus_round_trips(real_file, corpus: str) -> None:
    root = real_file(corpus)
    # Question files only for BFCL (answers and function docs are side files of the bfcl reader).
    files = [f for f in expand_inputs([root]) if "possible_answer" not in f.parts and "multi_turn_func_doc"
             not in f.parts]
    trajectories = [t for t in Inputs(files) if isinstance(t, Trajectory)]
    assert trajectories, f"no trajectory read from {corpus}"
    for t in trajectories:
        for fmt in ("canonical", "openai"):
            assert writer(fmt).lossless
            assert _through(fmt, t) == t, (corpus, fmt, t.id)
        row = writer("agentflan").write(t)
        assert all(set(turn) == {"role", "content", "loss"} for turn in row["messages"])


def test_lossless_flags_match_the_tested_pairs() -> None:
    assert {name for name, w in writers().items() if w.lossless} >= {"canonical", "openai"}
    assert not writer("sharegpt").lossless and not writer("agentflan").lossless
