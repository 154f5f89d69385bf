"""ms-swift: the `swift` export loaded with ms-swift's own `load_dataset`, encoded by its `qwen2_5` template with
the `hermes` agent template (`EncodePreprocessor`, the swift template backend that joins consecutive assistant
messages and keeps each one's `loss`), then 2 training steps (`sft_main`) on the tiny Qwen2.

    python check_swift.py BUILD_DIR TINY_DIR OUT_DIR
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common


def pieces(row: dict) -> list[tuple[str, bool]]:
    """The export's own flags: each assistant or tool_call message's `loss`; everything else unsupervised."""
    out = []
    for m in row["messages"]:
        text = m["content"]
        if m["role"] == "tool_call":
            call = json.loads(text)
            out += [(call["name"], m["loss"]), (json.dumps(call["arguments"], ensure_ascii=False), m["loss"])]
        elif m["role"] != "system":
            out.append((text, m["role"] == "assistant" and m["loss"]))
    return out


def main(build: Path, tiny: Path, out: Path) -> None:
    from swift import EncodePreprocessor, get_model_processor, get_template, load_dataset, sft_main

    folder = common.model_dir(tiny, out / "model")
    _, processor = get_model_processor(str(folder), model_type="qwen2", load_model=False)
    template = get_template(processor, template_type="qwen2_5", max_length=32768, agent_template="hermes",
                            truncation_strategy="right")
    template.set_mode("train")
    raw, _ = load_dataset([str(build / "swift.jsonl")], num_proc=1, load_from_cache_file=False)
    rows = common.read_jsonl(build / "swift.jsonl")
    canonical = {r["id"]: r for r in common.read_jsonl(build / "canonical.jsonl")}
    export_totals: dict[str, int] = {}
    canonical_totals: dict[str, int] = {}
    twice = encoded_rows = 0
    tok = processor if not hasattr(processor, "tokenizer") else processor.tokenizer
    for row, item in zip(rows, raw, strict=True):
        try:
            enc = template.encode(item)
        except Exception as exc:  # what EncodePreprocessor would drop
            print(f"{row['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        encoded_rows += 1
        ids, labels = enc["input_ids"], enc["labels"]
        common.add(export_totals, common.compare(ids, labels, tok, pieces(row)))
        common.add(canonical_totals, common.compare(ids, labels, tok, common.canonical_pieces(canonical[row["id"]])))
        twice += common.described_twice(tok.decode(ids), {"tools": row["tools"]})
    dataset = EncodePreprocessor(template=template)(raw, num_proc=1, load_from_cache_file=False)
    sft_main(["--model", str(folder), "--model_type", "qwen2", "--template", "qwen2_5", "--agent_template", "hermes",
              "--dataset", str(build / "swift.jsonl"), "--tuner_type", "full", "--max_steps", "2",
              "--per_device_train_batch_size", "1", "--max_length", "32768", "--output_dir", str(out / "run"),
              "--save_strategy", "no", "--report_to", "none", "--logging_steps", "1", "--torch_dtype", "float32",
              "--dataset_num_proc", "1", "--split_dataset_ratio", "0", "--truncation_strategy", "right"])
    common.result(out, framework="ms-swift", versions={"ms-swift": version("ms-swift"), "datasets": version("datasets"),
                                                       "transformers": version("transformers")},
                  export="swift.jsonl (template qwen2_5, agent_template hermes)", rows=len(rows),
                  loaded=len(dataset), dropped=len(rows) - len(dataset), encoded_one_by_one=encoded_rows, steps=2,
                  masks="calls (per message; a tool_call message's name and arguments share one flag)",
                  tokens_vs_export=export_totals, tokens_vs_canonical=canonical_totals, tools_described_twice=twice)


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
