"""The build recipe: one YAML file, validated by pydantic before any work (unknown keys and settings that do
not make sense are errors naming the field).

Input paths are relative to the data root (``AGENTFLAN_DATA``, default ``../shared/data``) unless absolute;
``bundled:NAME`` names an example shipped in ``agentflan/data``; ``bfcl:FILE`` names a BFCL v4 data file (read
from the data root's ``gorilla/bfcl_v4`` when present, else from the cached ``bfcl-eval`` wheel). A path may be
a glob or a directory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentflan.schema import CAPABILITIES, NEGATIVE_KINDS

ReplySource = Literal["endpoint", "reference", "template"]
InstructFormat = Literal["json", "react", "template"]
REPLY_SOURCES: tuple[ReplySource, ...] = ("endpoint", "reference", "template")
INSTRUCT_FORMATS: tuple[InstructFormat, ...] = ("json", "react", "template")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Spec):
    path: str = Field(min_length=1)
    format: str = "auto"
    name: str | None = None  # the source label in the manifest (default: the path as written)
    cap: int | None = Field(default=None, ge=0)  # at most this many trajectories used (seeded choice)
    # For tool-pool inputs: whether the questions need the given tools (BFCL simple: yes; irrelevance: no).
    queries_need_tools: bool = False

    @property
    def label(self) -> str:
        return self.name or self.path


class AgentSpec(_Spec):
    inputs: list[InputSpec] = Field(default_factory=list)
    # Flag codes (see `validate`) whose records are not used, e.g. [unknown_tool].
    drop_flags: list[str] = Field(default_factory=list)
    # Keep only trajectories that end in an answer: no give-ups, no trailing call (`construct.finished`; the
    # paper's ToolBench filter). The others are left out, counted as `unfinished:<reason>`.
    finished_only: bool = False


class HeldOutSpec(_Spec):
    # A share of the agent and general records kept out of the build and written to DIR/held_out.jsonl, for
    # evaluation on data no build trains on. The choice hangs on the record's first user turn and this seed
    # only (not on the recipe's seed, input names or filters), so every recipe over the same corpora holds out
    # the same queries, and records that ask the same thing fall on the same side.
    fraction: float = Field(default=0.0, ge=0.0, lt=1.0)
    seed: int = 0


class AlignmentSpec(_Spec):
    # Share of the agent trajectories kept in the source-faithful ReAct rendering (paper: 10%).
    react_fraction: float = Field(default=0.1, ge=0.0, le=1.0)


class BalanceSpec(_Spec):
    # mask: seeded per-part loss masks (the released data's per-turn `loss`); weight: loss weights carried into
    # training; none: leave every part supervised.
    mode: Literal["mask", "weight", "none"] = "mask"
    # kept_fraction: a weight is the share of that capability's own supervised tokens kept, the unit of
    # Table 2's "reduce a capability to 50%" rows in which App. A states 1 : 0.25 : 0.75; share: after balancing,
    # the capabilities' supervised token counts stand in the weights' ratio (docs/method.md, §3).
    target: Literal["kept_fraction", "share"] = "kept_fraction"
    weights: dict[str, float] = Field(
        default_factory=lambda: {"reasoning": 1.0, "retrieval": 0.25, "understanding": 0.75})

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        for name, w in v.items():
            if name not in CAPABILITIES:
                raise ValueError(f"unknown capability {name!r}; choose from {', '.join(CAPABILITIES)}")
            if w < 0:
                raise ValueError(f"weight of {name} must be ≥ 0, got {w}")
        if v and not any(w > 0 for w in v.values()):
            raise ValueError("all weights are 0: nothing would be supervised")
        return v

    @model_validator(mode="after")
    def _fractions(self) -> BalanceSpec:
        if self.target == "kept_fraction":
            over = {k: w for k, w in self.weights.items() if w > 1}
            if over and self.mode == "mask":
                raise ValueError(f"with target kept_fraction and mode mask a weight is a share kept, so ≤ 1: {over}")
        return self


class MaskingSpec(_Spec):
    # Share of the agent trajectories that can be masked exactly whose tool names become meaningless
    # identifiers (Hammer's function masking; 0 = off, the paper's setting).
    fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    parameters: bool = True  # mask parameter names too


class InstructSpec(_Spec):
    count: int = Field(default=0, ge=0)  # format-following samples to make (paper App. A: 2,000)
    formats: list[InstructFormat] = Field(default_factory=lambda: list(INSTRUCT_FORMATS), min_length=1)


class EndpointSpec(_Spec):
    base_url: str = Field(min_length=1)  # e.g. http://localhost:8000/v1 (OpenAI-compatible)
    model: str = Field(min_length=1)
    api_key_env: str | None = None  # name of the environment variable holding the key (never the key itself)
    timeout_s: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0)
    backoff_s: float = Field(default=1.0, ge=0)
    temperature: float = Field(default=0.0, ge=0)
    max_tokens: int = Field(default=512, gt=0)


class NegativesSpec(_Spec):
    counts: dict[str, int] = Field(default_factory=dict)  # samples per circumstance (keys: NEGATIVE_KINDS) ...
    # ... or a share of the agent side (agent, react and format-following records plus the negatives themselves;
    # the release: 761 of 34,442 rows, 0.022), split between the circumstances in the proportions of `kinds`.
    share: float | None = Field(default=None, ge=0.0, lt=1.0)
    kinds: dict[str, float] = Field(default_factory=dict)
    tool_pools: list[InputSpec] = Field(default_factory=list)  # extra tools to draw irrelevant tools from
    irrelevant_tools: int = Field(default=3, ge=1)  # tools given in irrelevant / distractor samples
    max_overlap: float = Field(default=0.1, ge=0.0, le=1.0)  # lexical overlap above which a tool counts as relevant
    reply_order: list[ReplySource] = Field(default_factory=lambda: list(REPLY_SOURCES), min_length=1)
    endpoint: EndpointSpec | None = None

    @field_validator("counts", "kinds")
    @classmethod
    def _counts(cls, v: dict[str, float]) -> dict[str, float]:
        for name, n in v.items():
            if name not in NEGATIVE_KINDS:
                raise ValueError(f"unknown circumstance {name!r}; choose from {', '.join(NEGATIVE_KINDS)}")
            if n < 0:
                raise ValueError(f"{name} must be ≥ 0, got {n}")
        return v

    @model_validator(mode="after")
    def _one_size(self) -> NegativesSpec:
        if self.share is not None and self.counts:
            raise ValueError("give either counts or share (with kinds), not both")
        if self.share and not any(w > 0 for w in self.kinds.values()):
            raise ValueError("share given but no kinds to split it between (e.g. kinds: {no_tools_needs_tool: 1})")
        if self.kinds and self.share is None:
            raise ValueError("kinds given without share")
        return self

    def wanted(self, agent_side: int) -> dict[str, int]:
        """Samples to make per circumstance. With ``share``: ``share / (1 − share) × agent_side`` in all (so that
        the negatives are ``share`` of the agent side once added), split by ``kinds`` with largest remainders."""
        if self.share is None:
            return {k: self.counts.get(k, 0) for k in NEGATIVE_KINDS}
        total = round(self.share / (1 - self.share) * agent_side)
        weight = sum(self.kinds.values())
        exact = {k: total * self.kinds.get(k, 0.0) / weight for k in NEGATIVE_KINDS}
        counts = {k: int(x) for k, x in exact.items()}
        by_remainder = sorted(NEGATIVE_KINDS, key=lambda k: (-(exact[k] - counts[k]), NEGATIVE_KINDS.index(k)))
        for k in by_remainder[: total - sum(counts.values())]:
            counts[k] += 1
        return counts


class GeneralSpec(_Spec):
    inputs: list[InputSpec] = Field(default_factory=list)
    # General records per agent-side record (paper: 1.0, plain concatenation) ...
    ratio: float | None = Field(default=None, ge=0)
    # ... or AgentTuning's η: the agent side's share of the mixture (η = 0.2 → 4 general per agent record).
    eta: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one_ratio(self) -> GeneralSpec:
        if self.ratio is not None and self.eta is not None:
            raise ValueError("give either ratio or eta, not both")
        return self

    def general_per_agent(self) -> float | None:
        if self.eta is not None:
            return (1 - self.eta) / self.eta
        return self.ratio


class Recipe(_Spec):
    name: str = "agentflan-build"
    description: str = ""
    seed: int = 0
    tokenizer: str | None = None  # a Hugging Face tokenizer name/path for token counts; default: stated approximation
    agent: AgentSpec = Field(default_factory=AgentSpec)
    held_out: HeldOutSpec = Field(default_factory=HeldOutSpec)
    alignment: AlignmentSpec = Field(default_factory=AlignmentSpec)
    balance: BalanceSpec = Field(default_factory=BalanceSpec)
    masking: MaskingSpec = Field(default_factory=MaskingSpec)
    instruct: InstructSpec = Field(default_factory=InstructSpec)
    negatives: NegativesSpec = Field(default_factory=NegativesSpec)
    general: GeneralSpec = Field(default_factory=GeneralSpec)
    exports: list[str] = Field(default_factory=lambda: ["agentflan", "openai", "sharegpt"])

    @model_validator(mode="after")
    def _sensible(self) -> Recipe:
        if not self.agent.inputs and not self.general.inputs:
            raise ValueError("no inputs: give agent.inputs and/or general.inputs")
        if self.general.inputs and self.general.general_per_agent() is None:
            raise ValueError("general.inputs given but neither general.ratio nor general.eta")
        if "canonical" in self.exports:
            raise ValueError("canonical.jsonl is always written; list only other formats in exports")
        return self
