"""The stages of `agentflan build`, each a function over one `BuildState`, run top to bottom by `build.build`:

read ─► mask ─► align ─► instruct ─► negatives ─► general ─► balance ─► export

Each stage is testable alone (give it a state holding what the stages before it produced) and records its own
counts in ``state.stages[name]`` (the manifest's ``stages``). Where a stage makes a choice over many records
(which to render in ReAct, which to mask, which general records to keep), the choice is a seeded ranking of
record *keys* (`seeding.ranked`), made apart from the work done on each record (`align.render_chat`,
`masking.mask`, `mix.as_general`...), so that the choices can later be made on a compact index of the records
and the work done on one record at a time.

Every accepted input record is used or left out with a reason (`Ledger`), so that per input
``read = used + rejected``.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentflan.errors import RecordError
from agentflan.formats import exports
from agentflan.pipeline import sidefiles
from agentflan.pipeline.inputs import InputFile, Inputs
from agentflan.pipeline.progress import RecordProgress
from agentflan.pipeline.sources import Reject
from agentflan.schema import Trajectory
from agentflan.seeding import ranked, stable_hash

from . import align as alignment
from . import decompose, finished, masking, mix
from . import instruct as format_following
from . import negatives as negative_samples
from .dropped import Dropped, Row
from .recipe import NEGATIVE_KINDS, InputSpec, Recipe
from .store import Records, Spilled, Store

if TYPE_CHECKING:
    from agentflan.formats.base import Writer
    from agentflan.pipeline.executors import Executor
    from agentflan.pipeline.run import RunDir

    from .replies import ChatEndpoint

ROLES = ("agent", "tool_pool", "general")


class Item:
    """One accepted input trajectory, under a key unique in the build; ``path`` is its input as recorded. The
    trajectory is kept in ``store`` (by default in memory) and fetched when a stage works on it."""

    __slots__ = ("_ref", "_store", "key", "path", "used", "why")

    def __init__(self, key: str, traj: Trajectory, path: str, store: Store | None = None) -> None:
        self.key, self.path = key, path
        self._store = store or _KEPT
        self._ref = self._store.put(traj)
        self.why: tuple[str, str] | None = None  # (reason, detail) once the ledger leaves it out
        self.used = False  # once the ledger counts it used (a flag: a set of every used key cost ~40 B a record)

    @property
    def traj(self) -> Trajectory:
        return self._store.get(self._ref)


_KEPT = Store()


@dataclass
class Ledger:
    """Per-input accounting: used keys (and how many per input), each unused record by key (its reason and
    detail on the item: a tuple per left-out record was most of the index), the records left out for good while
    reading (`Dropped`: packed rows), construction rejects."""

    role_and_label: dict[str, tuple[str, str]] = field(default_factory=dict)  # input path → its spec's, shared
    used: int = 0  # records used (keys are unique in the build, whatever their input)
    unused: list[Item] = field(default_factory=list)  # left out, unless used later (then skipped)
    dropped: Dropped = field(default_factory=Dropped)
    rejects: Spilled = field(default_factory=Spilled)
    construction: Counter[str] = field(default_factory=Counter)
    held_out: list[Item] = field(default_factory=list)  # the recipe's held_out share, for DIR/held_out.jsonl
    _whys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def use(self, item: Item) -> None:
        if not item.used:
            item.used = True
            self.used += 1

    def leave_out(self, item: Item, reason: str, detail: str = "") -> None:
        """Leave out a record a later stage may still use (which then counts it as used)."""
        if not item.used:
            why = (reason, detail)
            if item.why is None:
                self.unused.append(item)
            item.why = self._whys.setdefault(why, why)  # a few distinct reasons, shared by every item

    def _unused(self) -> list[Item]:
        return [item for item in self.unused if not item.used]

    def left_out_count(self) -> int:
        return len(self._unused()) + len(self.dropped)

    def left_out_by_path(self) -> dict[str, Counter[str]]:
        """Reasons of the unused records, by input."""
        found: dict[str, Counter[str]] = defaultdict(Counter)
        for item in self._unused():
            assert item.why is not None
            found[item.path][item.why[0]] += 1
        for path, reason in self.dropped.paths_and_reasons():
            found[path][reason] += 1
        return found

    def left_out(self) -> Iterator[Row]:
        """Every unused record, by key: (key, input, reason, detail, line, index, id)."""
        pending = sorted(self._unused(), key=lambda item: item.key)
        i = 0
        for row in self.dropped.rows():
            while i < len(pending) and pending[i].key < row[0]:
                yield self._row(pending[i])
                i += 1
            yield row
        for item in pending[i:]:
            yield self._row(item)

    @staticmethod
    def _row(item: Item) -> Row:
        assert item.why is not None
        traj = item.traj
        prov = traj.provenance
        return (item.key, item.path, *item.why, prov.line if prov else None, prov.index if prov else None, traj.id)

    def construction_reject(self, where: str, item: Item, err: RecordError) -> None:
        reason = f"{where}:{err.reason}"
        self.construction[reason] += 1
        self.rejects.append(Reject.of(item.traj, reason, err.detail, path=item.path, field=err.field).to_dict())

    def unused_rejects(self) -> Iterator[dict[str, Any]]:
        for _, path, reason, detail, line, index, traj_id in self.left_out():
            yield Reject(path, reason, detail, line=line, index=index, item=traj_id).to_dict()


def used_by_path(state: BuildState) -> Counter[str]:
    """Records used, by input (counted at the end from the items' flags: a counter kept along held an entry for
    every input file through every stage)."""
    return Counter(it.path for role in ROLES for it in state.items[role] if it.used)


@dataclass
class BuildState:
    """What the stages share: the recipe and what `build.prepare` checked, the inputs and their ledger, the
    accepted items by role, the records built so far, and each stage's report."""

    recipe: Recipe
    inputs: Inputs
    specs: list[tuple[str, InputSpec, list[InputFile]]]  # (role, spec, files), in recipe order
    count: Callable[[str], int]
    endpoint: ChatEndpoint | None = None
    show_progress: bool = False
    store: Store = field(default_factory=Store)  # where trajectories are kept (`store`: memory or a spill file)
    executor: Executor | None = None  # where the inputs are read (None: here)
    ledger: Ledger = field(default_factory=Ledger)
    items: dict[str, list[Item]] = field(default_factory=lambda: {role: [] for role in ROLES})
    masked: dict[str, Item] = field(default_factory=dict)  # agent key → its masked source
    records: Records = field(init=False)
    rewrites: Counter[str] = field(default_factory=Counter)  # prompt rewrites by align and negatives
    agent_side: int = 0  # records before general data is mixed in
    report: dict[str, Any] = field(default_factory=dict)  # manifest sections the stages fill
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.records = Records(self.store)
        if self.store.spill:
            self.ledger.rejects = Spilled(spill=True)

    @property
    def seed(self) -> int:
        return self.recipe.seed

    def progress(self, name: str, total: int | None = None) -> RecordProgress:
        return RecordProgress(f"build: {name}", total=total, enabled=self.show_progress)


# -- read -------------------------------------------------------------------------------------------------------

def read(state: BuildState) -> None:
    """Every input file's trajectories, under build-unique keys, with their source's label; agent trajectories
    a recipe drops (flagged, unfinished) are left out; a spec's ``cap`` keeps a seeded choice. The files are read
    under ``state.executor`` (in order, whatever runs them). A record left out for good here is never spilled:
    its reject row is all that is kept (`Dropped`)."""
    keys = _Keys(state.specs)
    left: Counter[str] = Counter()
    files: list[InputFile] = []
    spec_index = array("l")  # of each file, in order (a dict by file cost ~60 B a file)
    for i, (role, spec, spec_files) in enumerate(state.specs):
        shared = (role, spec.label)
        for file in spec_files:
            state.ledger.role_and_label[file.source] = shared
            files.append(file)
            spec_index.append(i)
    at = 0
    taken: _Taken | None = None
    with state.progress("read") as progress:
        for file, rec in state.inputs.stream(files, state.executor):
            progress.advance()
            while files[at] is not file:  # the files come in order (one without records does not come)
                at += 1
            if taken is None or spec_index[at] != taken.spec_index:
                _take(state, taken, left)
                if taken is not None:
                    keys.done(taken.spec_index)
                taken = _Taken(state, spec_index[at])
            if isinstance(rec, Reject):
                state.ledger.rejects.append({**rec.to_dict(), "stage": "read"})
                continue
            role, spec, _ = state.specs[taken.spec_index]
            key, traj = _keyed(rec, spec, keys.of(spec.label))
            if role != "tool_pool" and _held_out(rec, state.recipe):
                state.ledger.dropped.add(key, file.source, "held_out", "held out for evaluation (recipe held_out)",
                                         traj)
                # As `kind`, the role says how to score it: a general record's reply is `general` text.
                meta = {**traj.metadata, "kind": role}
                state.ledger.held_out.append(Item(key, traj.model_copy(update={"metadata": meta}), file.source,
                                                  state.store))
                left["held_out"] += 1
                continue
            why = _left_out(traj, role, state.recipe)
            if why is not None:
                state.ledger.dropped.add(key, file.source, *why, traj)
                left[why[0].split(":")[0]] += 1
            else:
                taken.add(key, traj, file.source)
        _take(state, taken, left)
    sidefiles.release()  # no stage after this one opens side files
    for item in state.items["agent"] + state.items["general"]:
        state.ledger.leave_out(item, "not_selected")
    state.stages["read"] = {"read": state.inputs.read_count, "rejected": state.inputs.rejected,
                            **{role: len(state.items[role]) for role in ROLES},
                            "left_out": dict(sorted(left.items()))}


class _Taken:
    """The records one spec's files give, within its cap: the seeded choice of `mix.pick` (the ``cap`` best
    ranked keys) kept as they arrive in a heap, so that a record ranked out is dropped at once, never spilled;
    the kept ones in reading order."""

    def __init__(self, state: BuildState, spec_index: int) -> None:
        self.state, self.spec_index = state, spec_index
        self.spec = state.specs[spec_index][1]
        self.heap: list[tuple[_Rank, int, Item, tuple[int | None, int | None, str]]] = []
        self.items: list[Item] = []  # without a cap
        self.arrived = self.dropped = 0
        self.detail = f"{self.spec.label}: cap {self.spec.cap}"  # one string for every row: the index stays small

    def add(self, key: str, traj: Trajectory, path: str) -> None:
        cap = self.spec.cap
        if cap is None:
            self.items.append(Item(key, traj, path, self.state.store))
            return
        self.arrived += 1
        rank = _Rank(stable_hash(self.state.seed, key, "cap"), key)
        prov = traj.provenance
        where = (prov.line if prov else None, prov.index if prov else None, traj.id)
        if len(self.heap) >= cap and (not self.heap or rank < self.heap[0][0]):  # ranked after every kept key
            self._drop(key, path, where)
            return
        entry = (rank, self.arrived, Item(key, traj, path, self.state.store), where)
        if len(self.heap) < cap:
            heapq.heappush(self.heap, entry)
            return
        _, _, out, out_where = heapq.heapreplace(self.heap, entry)
        self._drop(out.key, out.path, out_where)

    def _drop(self, key: str, path: str, where: tuple[int | None, int | None, str]) -> None:
        self.state.ledger.dropped.add_row(key, path, "over_cap", self.detail, *where)
        self.dropped += 1

    def kept(self) -> list[Item]:
        return self.items if self.spec.cap is None else [e[2] for e in sorted(self.heap, key=lambda e: e[1])]


class _Keys:
    """The keys given so far, to keep them unique: a set per label, let go after the label's last input. Keys
    of two labels differ ("<label>/<id>") unless one label is the other's prefix up to a "/": then one set holds
    every key. At 30x the corpora one set of all 84,000 keys was the read's largest holder."""

    def __init__(self, specs: list[tuple[str, InputSpec, list[InputFile]]]) -> None:
        self.labels = [spec.label for _, spec, _ in specs]
        self.last = {label: i for i, label in enumerate(self.labels)}
        distinct = set(self.labels)
        self.shared = any(b.startswith(a + "/") for a in distinct for b in distinct if a != b)
        self.sets: dict[str, set[str]] = {}

    def of(self, label: str) -> set[str]:
        return self.sets.setdefault("" if self.shared else label, set())

    def done(self, spec_index: int) -> None:
        label = self.labels[spec_index]
        if not self.shared and self.last[label] == spec_index:
            self.sets.pop(label, None)


class _Rank:
    """A key's place in `ranked` order, reversed, so that the heap's top is the worst kept (`heapq` is a
    min-heap)."""

    __slots__ = ("hash", "key")

    def __init__(self, hash_: int, key: str) -> None:
        self.hash, self.key = hash_, key

    def __lt__(self, other: _Rank) -> bool:
        return (self.hash, self.key) > (other.hash, other.key)


def _take(state: BuildState, taken: _Taken | None, left: Counter[str]) -> None:
    """The items one spec's files gave, within its cap."""
    if taken is not None:
        state.items[state.specs[taken.spec_index][0]].extend(taken.kept())
        if taken.dropped:
            left["over_cap"] += taken.dropped


def _keyed(rec: Trajectory, spec: InputSpec, keys: set[str]) -> tuple[str, Trajectory]:
    """A build-unique key for ``rec`` and the record with its source's label."""
    key = f"{spec.label}/{rec.id}"
    n = 1
    while key in keys:
        n += 1
        key = f"{spec.label}/{rec.id}~{n}"
    keys.add(key)
    meta = {**rec.metadata, "source": spec.label}
    if spec.queries_need_tools:
        meta["queries_need_tools"] = True
    return key, rec.model_copy(update={"metadata": meta})


def _held_out(traj: Trajectory, recipe: Recipe) -> bool:
    """Whether the recipe's ``held_out`` share takes this record: decided by its first user turn and the share's
    own seed, so every recipe over the same corpora holds out the same queries (records without a user turn: by
    id)."""
    spec = recipe.held_out
    if spec.fraction == 0:
        return False
    query = next((m.content for m in traj.messages if m.role == "user" and m.content.strip()), None)
    key = " ".join(query.split()).lower() if query is not None else f"id:{traj.id}"
    return stable_hash(spec.seed, "held-out", key) / 2**64 < spec.fraction


def _left_out(rec: Trajectory, role: str, recipe: Recipe) -> tuple[str, str] | None:
    """(reason, detail) when the recipe leaves an accepted record out before any stage uses it."""
    if role != "agent":
        return None
    bad = sorted({f.code for f in rec.flags} & set(recipe.agent.drop_flags))
    if bad:
        return f"flagged:{bad[0]}", "; ".join(f.detail for f in rec.flags if f.code == bad[0])[:300]
    why = finished.unfinished(rec) if recipe.agent.finished_only else None
    if why is not None:
        return f"unfinished:{why}", finished.DETAILS[why]
    return None


# -- mask -------------------------------------------------------------------------------------------------------

def mask(state: BuildState) -> None:
    """Hammer's function masking of ``masking.fraction`` of the agent trajectories that can be masked exactly
    (a seeded choice of keys), before they are aligned; off unless the recipe asks."""
    spec = state.recipe.masking
    report: dict[str, Any] = {"fraction": spec.fraction, "parameters": spec.parameters}
    if spec.fraction == 0:
        state.report["masking"] = {**report, "masked": 0}
        state.stages["mask"] = {"eligible": 0, "masked": 0}
        return
    reasons: Counter[str] = Counter()
    eligible: list[str] = []
    for it in state.items["agent"]:
        why = masking.ineligible(it.traj)
        if why is None:
            eligible.append(it.key)
        else:
            reasons[why] += 1
    chosen = set(mix.pick(eligible, round(spec.fraction * len(eligible)), state.seed, "mask"))
    for it in state.items["agent"]:
        if it.key in chosen:
            state.masked[it.key] = Item(it.key, masking.mask(_renamed(it.traj, it.key), state.seed, spec.parameters),
                                        it.path, state.store)
    state.report["masking"] = {**report, "eligible": len(eligible), "masked": len(chosen),
                               "ineligible_by_reason": dict(sorted(reasons.items()))}
    state.stages["mask"] = {"eligible": len(eligible), "masked": len(chosen)}


def _renamed(traj: Trajectory, key: str) -> Trajectory:
    return traj.model_copy(update={"id": key})


# -- align ------------------------------------------------------------------------------------------------------

def align(state: BuildState) -> None:
    """A seeded, exact share of the agent trajectories in ReAct, the rest as conversation (paper §4.1)."""
    agent_items = state.items["agent"]
    react_keys = alignment.choose_react([it.key for it in agent_items], state.recipe.alignment.react_fraction,
                                    state.seed)
    counts: Counter[str] = Counter()
    with state.progress("align", len(agent_items)) as progress:
        for it in agent_items:
            progress.advance()
            masked = state.masked.get(it.key)
            source = masked.traj if masked is not None else _renamed(it.traj, it.key)
            try:
                rendered = (alignment.render_react_kind(source) if it.key in react_keys
                            else alignment.render_chat(source, state.seed, state.rewrites))
            except RecordError as err:
                # Not used at all (unless a later stage uses it), so counted once, against its input.
                state.ledger.leave_out(it, f"align:{err.reason}", err.detail)
                counts["left_out"] += 1
                continue
            state.records.append(rendered)
            state.ledger.use(it)
            counts["react" if it.key in react_keys else "chat"] += 1
    state.stages["align"] = {k: counts.get(k, 0) for k in ("chat", "react", "left_out")}


# -- instruct ---------------------------------------------------------------------------------------------------

def instruct(state: BuildState) -> None:
    """Format-following samples from real first calls, in the context they were made in, grounded. The
    candidates are known by key; each source is made again when the seeded order reaches it."""
    spec = state.recipe.instruct
    agent_items = state.items["agent"]
    keys = [it.key for it in agent_items if spec.count and format_following.first_call(it.key, it.traj, state.seed)]
    by_key = {it.key: it for it in agent_items}

    def source(key: str) -> format_following.CallSource:
        found = format_following.first_call(key, by_key[key].traj, state.seed)
        assert found is not None  # it was a candidate, and first_call depends only on the key and the record
        return found

    order = (source(key) for key in ranked(keys, state.seed, "instruct-pick"))
    made, report = format_following.pick_samples(order, len(keys), spec.count, list(spec.formats), state.seed)
    for sample in made:
        state.ledger.use(by_key[sample.id.removeprefix("instruct/")])
    state.records.extend(made)
    state.report["instruct"] = report
    state.stages["instruct"] = {"candidates": len(keys), "made": len(made)}


# -- negatives --------------------------------------------------------------------------------------------------

@dataclass
class _Negatives:
    """What the negatives stage draws from: the keys of the records with a query, by kind (the queries are made
    again when the seeded order reaches them), the item each came from, the maker."""

    maker: negative_samples.NegativeMaker
    check: negative_samples.IrrelevanceCheck
    tool_queries: list[str]
    general_queries: list[str]
    item_of: dict[str, Item]
    calling_agents: set[str]  # agent records that call a tool: the positives distractor_tools widens


def negatives(state: BuildState) -> None:
    """The recipe's negative samples, circumstance by circumstance, from a seeded ranking of the queries."""
    spec = state.recipe.negatives
    pool = _negative_sources(state)
    made: Counter[str] = Counter()
    skipped: dict[str, Counter[str]] = defaultdict(Counter)  # queries passed over, by reason
    wanted = spec.wanted(len(state.records))
    with state.progress("negatives", sum(wanted.values())) as progress:
        for circumstance in NEGATIVE_KINDS:
            if wanted[circumstance]:
                _make_negatives(state, pool, circumstance, wanted[circumstance], made, skipped[circumstance],
                                progress)
    state.report.update({
        "negatives": {k: made.get(k, 0) for k in NEGATIVE_KINDS},
        "negatives_requested": wanted,
        "negatives_skipped": {k: dict(sorted(v.items())) for k, v in sorted(skipped.items()) if v},
        "irrelevance_check": pool.check.report(),
        "reply_sources": dict(sorted(pool.maker.reply_sources.items())),
    })
    state.stages["negatives"] = {"made": sum(made.values()), "requested": sum(wanted.values())}


def _negative_sources(state: BuildState) -> _Negatives:
    spec = state.recipe.negatives
    agent_items, pool_items = state.items["agent"], state.items["tool_pool"]
    for it in pool_items:
        if it.traj.tools:
            state.ledger.use(it)
        else:
            state.ledger.leave_out(it, "no_tools", "a tool-pool record without tools")
    tools = negative_samples.ToolPool(it.traj for it in agent_items + pool_items)
    check = negative_samples.IrrelevanceCheck(spec.max_overlap)
    maker = negative_samples.NegativeMaker(state.seed, tools, check, spec.irrelevant_tools, list(spec.reply_order),
                                    state.endpoint, rewrites=state.rewrites)
    item_of: dict[str, Item] = {}
    tool_queries: list[str] = []
    calling: set[str] = set()
    agent_keys = {it.key for it in agent_items}
    for it in agent_items + pool_items:
        traj = it.traj
        if negative_samples.tool_query(it.key, traj) is not None:
            tool_queries.append(it.key)
            item_of[it.key] = it
            if it.key in agent_keys and traj.calls():
                calling.add(it.key)
    general_queries: list[str] = []
    for it in state.items["general"]:
        q = negative_samples.general_query(it.key, it.traj)
        if q is not None and (q.reference or state.endpoint is not None):
            general_queries.append(it.key)
            item_of[it.key] = it
    return _Negatives(maker, check, tool_queries, general_queries, item_of, calling)


def _make_negatives(state: BuildState, pool: _Negatives, circumstance: str, wanted: int, made: Counter[str],
                    skipped: Counter[str], progress: RecordProgress) -> None:
    general = circumstance == "tools_given_no_need"
    keys = pool.general_queries if general else pool.tool_queries
    if circumstance == "distractor_tools":  # a positive to widen: an agent trajectory that calls
        keys = [k for k in keys if k in pool.calling_agents]
    query_of = negative_samples.general_query if general else negative_samples.tool_query
    make = getattr(pool.maker, circumstance)
    asked: set[str] = set()  # ToolBench's per-step sequences of one search share their query
    for key in ranked(keys, state.seed, circumstance):  # keys are unique: the order `negatives.rank` gives
        if made[circumstance] >= wanted:
            break
        q = query_of(key, pool.item_of[key].traj)
        assert q is not None  # it had a query when listed, and a query depends only on the key and the record
        if q.text in asked:
            skipped["same_query"] += 1
            continue
        if circumstance == "missing_argument" and pool.maker.strippable(q) is None:
            skipped["no_strippable_argument"] += 1  # no required value the request writes once, can do without
            continue
        try:
            state.records.append(make(q, made[circumstance]))
        except RecordError as err:
            state.ledger.construction_reject(f"negative:{circumstance}", pool.item_of[q.key], err)
            continue
        made[circumstance] += 1
        asked.add(q.text)
        state.ledger.use(pool.item_of[q.key])
        progress.advance()


# -- general ----------------------------------------------------------------------------------------------------

def general(state: BuildState) -> None:
    """General data at the recipe's ratio to everything built so far (the agent side), a seeded choice."""
    state.agent_side = len(state.records)
    per_agent = state.recipe.general.general_per_agent()
    wanted = mix.general_count(state.agent_side, per_agent)
    by_key = {it.key: it for it in state.items["general"]}
    used = 0
    with state.progress("general", wanted) as progress:
        for key in mix.pick(list(by_key), len(by_key), state.seed):
            if used >= wanted:
                break
            it = by_key[key]
            try:
                state.records.append(_renamed(mix.as_general(it.traj, state.endpoint), key))
            except RecordError as err:
                state.ledger.leave_out(it, f"general:{err.reason}", err.detail)
                continue
            state.ledger.use(it)
            used += 1
            progress.advance()
    state.report["mix"] = mix.mix_report(state.agent_side, wanted, len(by_key), used, per_agent)
    state.stages["general"] = {"wanted": wanted, "made": used}


# -- balance ----------------------------------------------------------------------------------------------------

def balance(state: BuildState) -> None:
    """Supervised tokens per capability balanced over the whole output (paper §4.2), then the output order: a
    seeded ranking of the record ids. Two passes over the records (`decompose.balance_into`): the decisions are
    made on the units' token counts."""
    spec = state.recipe.balance
    balanced = Records(state.store)
    report = decompose.balance_into(state.records, balanced.append, spec.weights, state.seed, state.count,
                                    spec.mode, spec.target)
    state.records = balanced  # the unbalanced index is let go before the ranking is made
    state.records = balanced.reordered(_ranked_records(balanced, state.seed))
    state.report["capability_balance"] = report
    state.stages["balance"] = {"records": len(state.records), "mode": spec.mode}


def _ranked_records(records: Records, seed: int) -> list[int]:
    """`ranked` order of the records by id (``stable_hash(seed, id, "order")``, ties by id), as positions: one
    int (hash, position) per record sorted in place, the ids decoded only where hashes tie (a list of every id
    and its sort key was the balancing's peak)."""
    assert len(records) < 1 << 32
    hashes = [stable_hash(seed, traj_id, "order") << 32 | i for i, traj_id in enumerate(records.iter_ids())]
    hashes.sort()
    order = [h & 0xFFFFFFFF for h in hashes]
    start = 0
    for end in range(1, len(hashes) + 1):
        if end == len(hashes) or hashes[end] >> 32 != hashes[start] >> 32:
            if end - start > 1:  # the same hash: by id, then position (`sorted` is stable)
                order[start:end] = sorted(order[start:end], key=lambda i: (records.id(i), i))
            start = end
    return order


# -- export -----------------------------------------------------------------------------------------------------

def export(state: BuildState, run: RunDir, writers: dict[str, Writer]) -> dict[str, int]:
    """``canonical.jsonl`` and one file per export format, in one pass over the records, then the rejects; the
    export rejects by reason."""
    rejected: Counter[str] = Counter()
    canonical = run.sink("canonical.jsonl", format="canonical")
    sinks = {name: run.sink(f"{name}.jsonl", format=name) for name in writers}
    masks: dict[str, Counter[str]] = {name: Counter() for name in writers}
    refused: dict[str, list[dict[str, Any]]] = {name: [] for name in writers}  # kept apart: rejects by format
    with state.progress("write", len(state.records) * len(writers)) as progress:
        for traj in state.records:
            canonical.write(traj.to_dict())
            for name, writer in writers.items():
                progress.advance()
                try:
                    sinks[name].write(writer.write(traj))
                    masks[name].update(exports.masks_not_held(traj, exports.MASKS.get(name, "none")))
                except RecordError as err:
                    reason = f"export:{name}:{err.reason}"
                    rejected[reason] += 1
                    refused[name].append(Reject.of(traj, reason, err.detail).to_dict())
    if state.recipe.held_out.fraction > 0:
        held_out = run.sink("held_out.jsonl", format="canonical")
        for it in sorted(state.ledger.held_out, key=lambda it: it.key):
            held_out.write(_renamed(it.traj, it.key).to_dict())
    for name, writer in writers.items():
        sinks[name].close()
        run.annotate(f"{name}.jsonl", masks=exports.mask_summary(name, masks[name]))
        if writer.companion is not None:
            writer.companion(run.folder / f"{name}.jsonl")
        for row in refused[name]:
            state.ledger.rejects.append(row)
    for row in itertools.chain(state.ledger.rejects, state.ledger.unused_rejects()):
        run.rejects.write(row)
    state.stages["export"] = {"records": len(state.records), "formats": len(writers),
                              "rejected": sum(rejected.values())}
    return dict(sorted(rejected.items()))
