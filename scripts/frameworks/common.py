"""Shared by the per-framework checks of scripts/check_frameworks.sh; runs in each framework's own venv, so it
needs only the standard library, `tokenizers`, `transformers` and `torch` (never agentflan).

- `tokenizer(tiny)`: the BPE tokenizer trained once by tiny_model.py, with the Qwen2.5-style tool template;
- `model_dir(tiny, dest)`: a tiny random Qwen2 saved with this venv's transformers, for frameworks that load a
  model from a folder;
- `compare(ids, labels, tokenizer, pieces)`: token-for-token check of what a framework supervises against the
  pieces of text that should (``loss: true``) and should not be supervised;
- `result(...)`: the JSON line each check writes.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

IGNORE = -100


def tokenizer(tiny: Path) -> Any:
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_file=str(tiny / "tokenizer.json"), eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", additional_special_tokens=["<|im_start|>"])
    tok.chat_template = (tiny / "chat_template.jinja").read_text(encoding="utf-8")
    return tok


def model(tok: Any, seed: int = 0) -> Any:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32768,
                         tie_word_embeddings=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                         bos_token_id=None)
    return Qwen2ForCausalLM(config)


def model_dir(tiny: Path, dest: Path) -> Path:
    """The tiny model and its tokenizer saved in ``dest`` by this venv's transformers."""
    tok = tokenizer(tiny)
    if not (dest / "config.json").exists():
        model(tok).save_pretrained(str(dest))
        tok.save_pretrained(str(dest))
        # Older transformers keep the template only in tokenizer_config.json, newer ones in a .jinja file.
        (dest / "chat_template.jinja").write_text(tok.chat_template, encoding="utf-8")
    return dest


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte ↔ unicode table (what a byte-level BPE writes each byte as)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def token_bytes(tok: Any, ids: list[int]) -> list[bytes]:
    special = {tok.convert_tokens_to_ids(t): t for t in tok.all_special_tokens}
    table = _byte_decoder()
    out = []
    for i in ids:
        if i in special:
            out.append(special[i].encode())
        else:
            piece = tok.convert_ids_to_tokens(i)
            out.append(bytes(table[ch] for ch in piece) if all(ch in table for ch in piece) else piece.encode())
    return out


def compare(ids: list[int], labels: list[int], tok: Any, pieces: list[tuple[str, bool]]) -> dict[str, int]:
    """Locate each piece (in order) in the decoded sequence and compare, token by token, "supervised by the
    framework" (label != -100) with "inside a ``loss: true`` piece". Tokens outside every piece are the
    template's (turn markers, call wrappers): counted apart, not compared. A token that straddles the edge of a
    piece (byte-level BPE merges ``{"`` of a template's call wrapper with the first quote of the arguments) is
    counted as ``boundary``, not compared."""
    spans = token_bytes(tok, ids)
    starts = []
    pos = 0
    for b in spans:
        starts.append(pos)
        pos += len(b)
    text = b"".join(spans)
    marks: list[tuple[int, int, bool]] = []
    cursor = 0
    missing = 0
    for piece, loss in pieces:
        needle = piece.strip().encode()
        if not needle:
            continue
        at = text.find(needle, cursor)
        if at < 0:
            missing += 1
            continue
        marks.append((at, at + len(needle), loss))
        cursor = at + len(needle)
    stats = {"tokens": len(ids), "supervised": 0, "content_tokens": 0, "match": 0, "trained_but_masked": 0,
             "masked_but_supervised_expected": 0, "boundary": 0, "template_supervised": 0, "pieces_not_found": missing}
    m = 0
    for k, (start, b) in enumerate(zip(starts, spans, strict=True)):
        end = start + len(b)
        supervised = labels[k] != IGNORE
        stats["supervised"] += supervised
        while m < len(marks) and marks[m][1] <= start:
            m += 1
        overlapping = [(s, e, loss) for s, e, loss in marks[m:m + 4] if s < end and e > start]
        flags = {loss for _, _, loss in overlapping}
        if not flags:
            stats["template_supervised"] += supervised
            continue
        stats["content_tokens"] += 1
        covered = sum(min(e, end) - max(s, start) for s, e, _ in overlapping)
        if len(flags) > 1 or covered < end - start:  # part piece, part another piece or template text
            stats["boundary"] += 1
            continue
        expected = flags.pop()
        if supervised == expected:
            stats["match"] += 1
        elif supervised:
            stats["trained_but_masked"] += 1
        else:
            stats["masked_but_supervised_expected"] += 1
    return stats


def add(total: dict[str, int], part: dict[str, int]) -> None:
    for k, v in part.items():
        total[k] = total.get(k, 0) + int(v)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def result(out: Path, **fields: Any) -> None:
    out.mkdir(parents=True, exist_ok=True)
    line = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    with (out / "results.jsonl").open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    print(line, file=sys.stderr)


def canonical_pieces(record: dict[str, Any], system: bool = False) -> list[tuple[str, bool]]:
    """A canonical record's texts in order with the loss agentflan gives them: user and tool texts (and the
    system text when ``system``) unsupervised, every assistant part and each call's name and arguments with its
    resolved flag (part, then message, then "assistant turns are supervised")."""
    pieces: list[tuple[str, bool]] = []
    for m in record["messages"]:
        if m["role"] != "assistant":
            if m["role"] != "system" or system:
                pieces.append((m.get("content", ""), False))
            continue
        supervised = m.get("loss", True) is not False
        for p in m.get("parts") or [{"text": m.get("content", "")}]:
            pieces.append((p["text"], p["loss"] if p.get("loss") is not None else supervised))
        for c in m.get("tool_calls", []):
            name_loss = c.get("name_loss", supervised)
            pieces.append((c["name"], supervised if name_loss is None else name_loss))
            args_loss = c.get("arguments_loss", supervised)
            pieces.append((json.dumps(c.get("arguments", {}), ensure_ascii=False),
                           supervised if args_loss is None else args_loss))
    return pieces


def described_twice(text: str, record: dict[str, Any]) -> bool:
    """Whether a rendered prompt holds the plain-language tool list (``- `name`: ...``) besides the template's."""
    tools = record.get("tools") or []
    if isinstance(tools, str):
        tools = json.loads(tools) if tools else []
    names = [t.get("function", t)["name"] for t in tools]
    return any(f"- `{name}`" in text for name in names)
