"""XTuner: the `agentflan` export loaded as written — `datasets` JSON, XTuner's own `openai_map_fn`, its Qwen chat
template and tokenisation (`process_hf_dataset`) — then 2 training steps of XTuner's `SupervisedFinetune` on the
tiny Qwen2 with XTuner's collate function.

    python check_xtuner.py BUILD_DIR TINY_DIR OUT_DIR
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common


def main(build: Path, tiny: Path, out: Path) -> None:
    import torch
    from datasets import load_dataset
    from mmengine.config import ConfigDict
    from transformers import AutoModelForCausalLM, Qwen2TokenizerFast
    from xtuner.dataset.collate_fns import default_collate_fn
    from xtuner.dataset.huggingface import process_hf_dataset
    from xtuner.dataset.map_fns import openai_map_fn, template_map_fn_factory
    from xtuner.model import SupervisedFinetune
    from xtuner.utils import PROMPT_TEMPLATE

    # XTuner's Qwen handling (no BOS, EOS = <|im_end|>) keys on the tokenizer class.
    tok = Qwen2TokenizerFast(tokenizer_file=str(tiny / "tokenizer.json"), eos_token="<|im_end|>",
                             pad_token="<|endoftext|>", additional_special_tokens=["<|im_start|>"])
    rows = common.read_jsonl(build / "agentflan.jsonl")
    raw = load_dataset("json", data_files=str(build / "agentflan.jsonl"), split="train")
    empty_inputs = sum(any(not c["input"] for c in openai_map_fn(r)["conversation"][1:]) for r in rows)
    data = process_hf_dataset(dataset=raw, tokenizer=tok, max_length=32768, dataset_map_fn=openai_map_fn,
                              template_map_fn=template_map_fn_factory(template=PROMPT_TEMPLATE.qwen_chat),
                              remove_unused_columns=True, shuffle_before_pack=False, pack_to_max_length=False,
                              map_num_proc=1)
    totals: dict[str, int] = {}
    canonical_totals: dict[str, int] = {}
    canonical = {r["id"]: r for r in common.read_jsonl(build / "canonical.jsonl")}
    # XTuner drops a row with no supervised turn; balancing never leaves one (decompose.balance).
    kept = [r for r in rows if any(t["loss"] for t in r["messages"] if t["role"] == "assistant")]
    for row, item in zip(kept, data, strict=True):
        pieces = [(t["content"], t["role"] == "assistant" and t["loss"]) for t in row["messages"]]
        common.add(totals, common.compare(item["input_ids"], item["labels"], tok, pieces))
        common.add(canonical_totals, common.compare(item["input_ids"], item["labels"], tok,
                                                    common.canonical_pieces(canonical[row["id"]])))

    # As an XTuner config writes it (a module given directly trips XTuner 0.2.0's build_llm_from_cfg).
    folder = common.model_dir(tiny, out / "model")
    # XTuner 0.2.0 asks the device for bf16 support through an API torch.cpu lacks; on a CPU the answer is no.
    torch.cpu.is_bf16_supported = getattr(torch.cpu, "is_bf16_supported", lambda: False)
    model = SupervisedFinetune(llm=ConfigDict(type=AutoModelForCausalLM.from_pretrained,
                                               pretrained_model_name_or_path=str(folder),
                                               attn_implementation="eager", torch_dtype=torch.float32),
                               use_varlen_attn=False, use_activation_checkpointing=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    losses = []
    for step in range(2):
        batch = default_collate_fn([data[2 * step], data[2 * step + 1]], pad_index=tok.pad_token_id)
        loss = model(batch["data"], mode="loss")["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(round(float(loss), 4))
    common.result(out, framework="XTuner", versions={"xtuner": version("xtuner"), "datasets": version("datasets"),
                                                     "transformers": version("transformers")},
                  export="agentflan.jsonl (dataset_map_fn=openai_map_fn, as written)", rows=len(rows),
                  loaded=len(data), dropped=len(rows) - len(data), steps=len(losses), losses=losses,
                  masks="turns", rounds_with_empty_user_turn=empty_inputs, tokens_vs_export=totals,
                  tokens_vs_canonical=canonical_totals,
                  dropped_rows_have_no_supervised_turn=len(rows) - len(kept))


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
