"""TRL: the `trl` export (conversational rows) and the pre-tokenised rows of `agentflan train --export-trl`, each
loaded with `datasets` and prepared by `SFTTrainer` itself, then 2 training steps on the tiny Qwen2.

    python check_trl.py BUILD_DIR TINY_DIR TOKENIZED_JSONL OUT_DIR [LABEL]

Run in the `floors` venv (the oldest datasets, TRL and transformers pyproject.toml allows) it is the floor check.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common


def trainer(dataset, tok, out: Path):
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(out), max_steps=2, per_device_train_batch_size=2, logging_steps=1,
                     save_strategy="no", report_to=[], max_length=None, use_cpu=True, bf16=False)
    return SFTTrainer(model=common.model(tok), args=args, train_dataset=dataset, processing_class=tok)


def main(build: Path, tiny: Path, tokenized: Path, out: Path, label: str = "TRL") -> None:
    from datasets import load_dataset

    tok = common.tokenizer(tiny)
    versions = {"trl": version("trl"), "datasets": version("datasets"), "transformers": version("transformers")}

    # Conversational rows: TRL renders them with the tokenizer's template (tools from the `tools` column). The
    # openai export (agentflan's labels as extra keys, the Agent-FLAN system text) loads the same way.
    for name in ("trl", "openai"):
        rows = common.read_jsonl(build / f"{name}.jsonl")
        loaded = load_dataset("json", data_files=str(build / f"{name}.jsonl"), split="train")
        # Arrow must give every row back as written (no other row's argument keys added as null).
        changed = sum(r["messages"] != m or r["tools"] != t for r, m, t in
                      zip(rows, loaded["messages"], loaded["tools"], strict=True))
        t = trainer(loaded, tok, out / name)
        twice = sum(common.described_twice(tok.apply_chat_template(r["messages"], tools=r["tools"] or None,
                                                                   tokenize=False), r) for r in rows)
        steps = t.train().global_step
        common.result(out, framework=label, versions=versions, export=f"{name}.jsonl", rows=len(rows),
                      loaded=len(t.train_dataset), dropped=len(rows) - len(t.train_dataset), steps=steps,
                      masks="none (every token; assistant_only_loss: every assistant token)",
                      tools_described_twice=twice, rows_changed_on_loading=changed,
                      # openai is the lossless mirror of the canonical record: its system text keeps the Agent-FLAN
                      # tool list, so a template that renders `tools` shows them twice (use the trl export).
                      tools_twice_expected=name == "openai")

    # Pre-tokenised rows: labels built by TRL from assistant_masks, compared with the canonical loss parts.
    rows = common.read_jsonl(tokenized)
    canonical = {r["id"]: r for r in common.read_jsonl(build / "canonical.jsonl")}
    t = trainer(load_dataset("json", data_files=str(tokenized), split="train"), tok, out / "tokenized")
    totals: dict[str, int] = {}
    same = 0
    prepared = t.train_dataset
    keys = [k for k in ("input_ids", "labels", "assistant_masks") if k in prepared.column_names]
    # SFTConfig.shuffle_dataset is off: the prepared rows are the file's, in order. The labels are what TRL's
    # collator gives the model (TRL 1.0 builds them there from assistant_masks, later releases beforehand).
    for row, item in zip(rows, prepared.select_columns(keys), strict=True):
        ids = list(item["input_ids"])
        assert ids == row["input_ids"]
        labels = t.data_collator([item])["labels"][0].tolist()
        same += labels == [i if m else common.IGNORE for i, m in zip(ids, row["assistant_masks"], strict=True)]
        common.add(totals, common.compare(ids, labels, tok, common.canonical_pieces(canonical[row["id"]])))
    steps = t.train().global_step
    common.result(out, framework=label, versions=versions, export="trl-tokenized (agentflan train --export-trl)",
                  rows=len(rows), loaded=len(t.train_dataset), dropped=len(rows) - len(t.train_dataset),
                  steps=steps, masks="parts", labels_equal_assistant_masks=same, tokens=totals,
                  canonical_records=len(canonical))


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:5]), label=sys.argv[5] if len(sys.argv) > 5 else "TRL")
