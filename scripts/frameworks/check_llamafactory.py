"""LLaMA-Factory: the `sharegpt` export with the build's dataset_info.json, through LLaMA-Factory's own dataset
loading, ShareGPT converter, `qwen` template (tools rendered from the `tools` column) and supervised
preprocessing, then 2 training steps (`run_exp`) on the tiny Qwen2.

    python check_llamafactory.py BUILD_DIR TINY_DIR OUT_DIR
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common


def pieces(row: dict) -> list[tuple[str, bool]]:
    """The export's own flags: LLaMA-Factory trains every gpt and function_call turn, nothing else."""
    out = []
    for turn in row["conversations"]:
        value, tag = turn["value"], turn["from"]
        if tag == "function_call" and "<tool_call>" in value:
            text, _, rest = value.partition("<tool_call>")
            out += [(text, True), (rest.partition("</tool_call>")[0], True)]
        else:
            out.append((value, tag in ("gpt", "function_call")))
    return out


def main(build: Path, tiny: Path, out: Path) -> None:
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer
    from llamafactory.train.tuner import run_exp

    folder = common.model_dir(tiny, out / "model")
    args = {"stage": "sft", "do_train": True, "model_name_or_path": str(folder), "dataset": "sharegpt",
            "dataset_dir": str(build), "template": "qwen", "cutoff_len": 32768, "finetuning_type": "full",
            "output_dir": str(out / "run"), "overwrite_output_dir": True, "max_steps": 2,
            "per_device_train_batch_size": 1, "report_to": "none", "save_strategy": "no", "logging_steps": 1,
            "bf16": False, "fp16": False, "use_cpu": True, "overwrite_cache": True}
    model_args, data_args, training_args, *_ = get_train_args(dict(args))
    tokenizer_module = load_tokenizer(model_args)
    tok = tokenizer_module["tokenizer"]
    template = get_template_and_fix_tokenizer(tok, data_args)
    data = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)["train_dataset"]
    rows = common.read_jsonl(build / "sharegpt.jsonl")
    canonical = {r["id"]: r for r in common.read_jsonl(build / "canonical.jsonl")}
    export_totals: dict[str, int] = {}
    canonical_totals: dict[str, int] = {}
    twice = 0
    for row, item in zip(rows, data, strict=True):
        ids, labels = item["input_ids"], item["labels"]
        common.add(export_totals, common.compare(ids, labels, tok, pieces(row)))
        common.add(canonical_totals, common.compare(ids, labels, tok, common.canonical_pieces(canonical[row["id"]])))
        twice += common.described_twice(tok.decode(ids), {"tools": row["tools"]})
    run_exp(dict(args))
    common.result(out, framework="LLaMA-Factory", versions={"llamafactory": version("llamafactory"),
                                                            "datasets": version("datasets"),
                                                            "transformers": version("transformers")},
                  export="sharegpt.jsonl + dataset_info.json (template qwen)", rows=len(rows), loaded=len(data),
                  dropped=len(rows) - len(data), steps=2, masks="none (every gpt/function_call turn)",
                  tokens_vs_export=export_totals, tokens_vs_canonical=canonical_totals, tools_described_twice=twice)


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
