"""`agentflan train` configuration: one pydantic model, extra keys forbidden, so a typo in a YAML file or a
``--set`` override fails before any model is loaded.

>>> cfg = TrainConfig(data="out/build", output_dir="runs/x", model=ModelConfig(tiny=TinyModel()))
>>> cfg.labels.overlong, cfg.lr, cfg.lora is None
('truncate', 2e-05, True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentflan.config import load_config
from agentflan.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TinyModel(_Strict):
    """A small Llama-architecture model initialised at random, with a byte-level BPE tokenizer trained on the
    training data itself: trains in minutes on a CPU, downloads nothing."""

    vocab_size: int = Field(2048, ge=300)
    hidden_size: int = Field(128, ge=8)
    intermediate_size: int = Field(256, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(4, ge=1)
    tokenizer_samples: int = Field(2000, ge=1, description="trajectories used to train the tokenizer")


class ModelConfig(_Strict):
    # A Hugging Face name or local directory; or leave empty and set `tiny`.
    name_or_path: str | None = None
    tiny: TinyModel | None = None
    # Replace the tokenizer's chat template (a file path or the template text), e.g. for a base model.
    chat_template: str | None = None
    attn_implementation: str | None = None  # "sdpa", "eager", "flash_attention_2"; None = transformers' choice
    trust_remote_code: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        if (self.name_or_path is None) == (self.tiny is None):
            raise ValueError("set exactly one of model.name_or_path and model.tiny")
        return self


class LabelConfig(_Strict):
    """How rendered samples become per-token labels (see `agentflan.train.labels`)."""

    max_length: int = Field(4096, ge=16)
    # A sample longer than max_length: "truncate" keeps its first max_length tokens, "drop" skips it (counted).
    overlong: Literal["truncate", "drop"] = "truncate"
    # Template text inside a supervised assistant turn (tool-call wrappers, the end-of-turn token) is supervised
    # and labelled instruction_following: without it the model never learns to close a turn or open a call.
    scaffolding: bool = True
    # "auto": tool results as `tool` messages if the template knows that role, else merged into user turns.
    tool_role: Literal["auto", "tool", "user"] = "auto"
    # "auto": native tool calls if the template reads `tool_calls`, else each call written into its assistant
    # turn as a JSON code block (labels kept); "native" makes such a template an error; "text" always writes text.
    calls: Literal["auto", "native", "text"] = "auto"
    # Multiply each token's loss by its part's weight (set by a build recipe's balancing); False ignores them.
    use_weights: bool = True
    # Per-source losses are tracked for the most frequent sources; the rest are logged as "other".
    max_sources: int = Field(32, ge=1)


class LoraSettings(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"
    # QLoRA: load the base model in 4 bit (needs bitsandbytes and a CUDA GPU).
    quantize_4bit: bool = False


class TrainConfig(_Strict):
    # An `agentflan build` output directory (its canonical.jsonl is read) or any files `agentflan convert` reads.
    data: str | list[str]
    output_dir: str
    model: ModelConfig
    labels: LabelConfig = LabelConfig()
    lora: LoraSettings | None = None

    epochs: float = Field(1.0, gt=0)
    max_steps: int = -1  # > 0 overrides epochs
    # A token budget: the rows, epoch after seeded epoch, until this many input tokens (padding excluded) are
    # seen; the last row may pass it by less than labels.max_length. Overrides epochs and max_steps, so that
    # runs on different data can be compared at the same tokens seen rather than the same steps.
    max_tokens: int | None = Field(None, ge=1)
    lr: float = Field(2e-5, gt=0)
    scheduler: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    # Effective batch = per_device_batch_size * gradient_accumulation_steps * number of processes.
    per_device_batch_size: int = Field(1, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    optim: str = "adamw_torch"
    # Several samples per row up to max_length, attention kept inside each sample (position ids restart).
    packing: bool = False
    bf16: Literal["auto"] | bool = "auto"
    gradient_checkpointing: bool = False
    seed: int = 0

    logging_steps: int = Field(10, ge=1)
    # Held-out share of the samples (chosen by seeded ranking), evaluated every eval_steps with the same
    # per-capability and per-source tracking (eval_loss/<capability>); 0 = no evaluation.
    eval_fraction: float = Field(0.0, ge=0, lt=1)
    eval_steps: int = Field(100, ge=1)
    save_steps: int = Field(500, ge=1)
    save_total_limit: int | None = 2
    # true: the latest checkpoint in output_dir; a path: that checkpoint.
    resume_from_checkpoint: bool | str = False
    report_to: list[Literal["tensorboard", "wandb"]] = Field(default_factory=list)
    plot: bool = True
    dataloader_num_workers: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.lora is not None and self.lora.quantize_4bit and self.model.tiny is not None:
            raise ValueError("lora.quantize_4bit needs a pretrained model (model.name_or_path), not model.tiny")
        return self

    def data_files(self) -> list[Path]:
        """The files to read: a build directory means its canonical.jsonl."""
        items = [self.data] if isinstance(self.data, str) else list(self.data)
        files: list[Path] = []
        for item in items:
            p = Path(item)
            if p.is_dir():
                canonical = p / "canonical.jsonl"
                if not canonical.exists():
                    raise ConfigError(f"data: {p} is a directory without canonical.jsonl (an `agentflan build` "
                                      "output directory was expected)")
                files.append(canonical)
            elif p.exists():
                files.append(p)
            else:
                raise ConfigError(f"data: {p} does not exist")
        if not files:
            raise ConfigError("data: no input files given")
        return files


def load_train_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config, apply ``--set`` overrides, validate (unknown keys fail here, before any model)."""
    return load_config(path, TrainConfig, overrides)
