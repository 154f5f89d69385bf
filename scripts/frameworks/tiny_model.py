"""The tiny model every framework check shares: a byte-level BPE tokenizer trained with `tokenizers` on the
build's own texts, the Qwen2.5-style tool chat template beside this file, and (for agentflan's own labelling
and the TRL rows) a random-initialised Qwen2 saved as a Hugging Face folder. Nothing comes from a model hub.

    python scripts/frameworks/tiny_model.py BUILD_DIR OUT_DIR
writes OUT_DIR/tokenizer.json, OUT_DIR/chat_template.jinja and OUT_DIR/model/ (the folder agentflan loads).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common


def texts(build: Path):
    for line in (build / "canonical.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for tool in record.get("tools", []):
            yield json.dumps(tool, ensure_ascii=False)
        for m in record["messages"]:
            yield m.get("content", "")
            for c in m.get("tool_calls", []):
                yield json.dumps({"name": c["name"], "arguments": c.get("arguments", {})}, ensure_ascii=False)


def main(build: Path, out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4096, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts(build), trainer=trainer)
    tok.save(str(out / "tokenizer.json"))
    shutil.copy(Path(__file__).with_name("qwen2.5_tool_template.jinja"), out / "chat_template.jinja")
    common.model_dir(out, out / "model")
    print(f"tiny model → {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
