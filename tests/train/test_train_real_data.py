"""Labelling real corpora (read in place from AGENTFLAN_DATA): every supervised part is found in the rendered
text and lands on supervised tokens."""

from __future__ import annotations

from itertools import islice

import pytest

from agentflan.capabilities import spans
from agentflan.pipeline.read import read_file
from agentflan.schema import Trajectory
from agentflan.train.config import LabelConfig, TinyModel
from agentflan.train.labels import Labeller, LabelStats
from agentflan.train.tiny import train_tokenizer

CORPORA = ["FireAct/gpt_format/hotpotqa.jsonl", "ToolBench/data_example/answer/G1_answer",
           "ToolTalk/data/easy", "api-bank/lv1-lv2-samples/level-1-given-desc"]


def trajectories(path, limit: int) -> list[Trajectory]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    items = (t for f in files for t in read_file(f) if isinstance(t, Trajectory))
    return list(islice(items, limit))


@pytest.mark.integration
@pytest.mark.parametrize("corpus", CORPORA)
def test_real_corpus_labels_cover_every_supervised_part(real_file, corpus):
    trajs = trajectories(real_file(corpus), 40)
    assert trajs, corpus
    tokenizer = train_tokenizer(trajs, TinyModel(vocab_size=1000))
    labeller = Labeller(tokenizer, LabelConfig(max_length=1 << 20, scaffolding=False))
    stats, rejects = LabelStats(), []
    examples = {ex.id: ex for ex in labeller.examples(trajs, stats, rejects)}
    assert stats.samples == len(trajs) == stats.used + stats.rejected
    # The only acceptable reject: a trajectory with nothing to learn (e.g. every assistant turn masked).
    assert set(stats.rejects_by_reason) <= {"no_supervised_tokens"}, [r.to_dict() for r in rejects[:3]]
    for traj in trajs:
        ex = examples.get(traj.id)
        if ex is None:
            continue
        text, _ = labeller.render_text(traj)
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        assert enc["input_ids"] == ex.input_ids.tolist()
        offsets = enc["offset_mapping"]
        # Characters covered by supervised tokens (byte-level tokens may share a character, so work on chars).
        covered = [False] * len(text)
        for (s, e), cap in zip(offsets, ex.capability, strict=True):
            if cap >= 0:
                covered[s:e] = [True] * (e - s)
        supervised = "".join(ch if ok else "\x00" for ch, ok in zip(text, covered, strict=True))
        for span in spans(traj):
            if span.capability not in ("retrieval", "understanding"):  # calls are reformatted by templates
                assert span.text.strip() in supervised, (traj.id, span.capability, span.text[:80])
