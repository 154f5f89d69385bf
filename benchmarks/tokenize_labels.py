"""Tokenisation with labels vs plain ``tokenizer(...)`` of the same rendered texts, measured in one run.

Both sides start from the same chat-template renderings (rendering is timed once, apart, since any training
pipeline pays it). Plain: ``tokenizer(texts)`` in batches. Labelled: locating every assistant part in the text
(per-character labels), encoding in batches with the tokenizer's backend and carrying the labels to tokens
through its character → token map. Goal: labelled throughput >= 70% of plain.

    python benchmarks/tokenize_labels.py                        # synthetic corpus, tokenizer trained on it
    python benchmarks/tokenize_labels.py --data out/build --samples 3000 --tokenizer path/to/hf-tokenizer
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from agentflan.pipeline.read import read_file
from agentflan.schema import Trajectory
from agentflan.train.config import LabelConfig, TinyModel
from agentflan.train.labels import Labeller, LabelStats
from agentflan.train.synthetic import synthetic_corpus
from agentflan.train.tiny import train_tokenizer


def load(data: str | None, samples: int) -> list[Trajectory]:
    if data is None:
        return synthetic_corpus(samples)
    path = Path(data)
    path = path / "canonical.jsonl" if path.is_dir() else path
    out = [t for t in read_file(path) if isinstance(t, Trajectory)]
    return (out * (samples // max(len(out), 1) + 1))[:samples]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="an agentflan build directory or any readable file (default: synthetic)")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--tokenizer", help="a local Hugging Face tokenizer directory (default: trained on the data)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256, help="texts per tokenizer call, on both sides")
    args = ap.parse_args()

    trajectories = load(args.data, args.samples)
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    else:
        tokenizer = train_tokenizer(trajectories, TinyModel())
    labeller = Labeller(tokenizer, LabelConfig(max_length=1 << 20))

    t0 = time.perf_counter()
    rendered = [(t, *labeller.render_text(t)) for t in trajectories]
    render_s = time.perf_counter() - t0
    texts = [text for _, text, _ in rendered]
    n_chars = sum(map(len, texts))

    def plain() -> int:
        n = 0
        for i in range(0, len(texts), args.batch):
            n += sum(map(len, tokenizer(texts[i:i + args.batch], add_special_tokens=False)["input_ids"]))
        return n

    def labelled() -> int:
        n = 0
        stats = LabelStats()
        for i in range(0, len(rendered), args.batch):
            n += sum(len(ex) for ex in labeller.label_batch(rendered[i:i + args.batch], stats))
        return n

    times: dict[str, list[float]] = {"plain": [], "labelled": []}
    tokens: dict[str, int] = {}
    pairs = (("plain", plain), ("labelled", labelled))
    for repeat in range(args.repeats):
        # Interleaved in ABBA order, so that machine load and warm caches favour neither side.
        for name, fn in pairs if repeat % 2 == 0 else pairs[::-1]:
            start = time.perf_counter()
            tokens[name] = fn()
            times[name].append(time.perf_counter() - start)
    plain_s, labelled_s = statistics.median(times["plain"]), statistics.median(times["labelled"])
    # Each repeat's two runs lie next to each other in time: their ratio is less exposed to load that comes and
    # goes than a ratio of medians.
    ratios = [p / lab for p, lab in zip(times["plain"], times["labelled"], strict=True)]
    print(f"samples {len(texts)}, characters {n_chars}, tokens {tokens['plain']} (labelled: {tokens['labelled']})")
    print(f"chat-template rendering (shared by both, once): {render_s:.3f} s, {len(texts) / render_s:.0f} samples/s")
    print(f"plain tokenizer(texts):      median {plain_s:.3f} s  {tokens['plain'] / plain_s:,.0f} tokens/s")
    print(f"labelled (locate + carry):   median {labelled_s:.3f} s  {tokens['labelled'] / labelled_s:,.0f} tokens/s")
    print(f"labelled throughput / plain: {statistics.median(ratios):.1%} median of {len(ratios)} paired repeats "
          f"(range {min(ratios):.1%}-{max(ratios):.1%}; best against best "
          f"{min(times['plain']) / min(times['labelled']):.1%}; goal >= 70%)")
    print(f"with rendering included on both sides: {(render_s + plain_s) / (render_s + labelled_s):.1%}")


if __name__ == "__main__":
    main()
