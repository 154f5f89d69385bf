"""The run layer: every command reads its inputs through `pipeline.inputs.Inputs` and writes its outputs through
`pipeline.run.RunDir`; below them, sources (files → raw records), read (records → trajectories), sinks
(atomic JSONL/Parquet) and side files. Imports nothing on import, so that any module may be imported alone."""
