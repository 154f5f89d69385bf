"""Fine-tuning with a capability-aware loss: `config` (TrainConfig), `labels` (tokens with capability labels),
`collator` (padding, packing), `metrics` (per-capability loss, metrics.jsonl, plot), `tiny` (a CPU-sized model),
`trainer` (the recipe)."""
