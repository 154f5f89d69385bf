"""`Inputs`: the files one command reads, as canonical trajectories (or raw records) and rejects, with one
ledger per file (`read.InputStats`) and the sha256 of every file a reader opened, side files included.

Every command reads through one `Inputs` and hands it to its `RunDir`, which refuses an output that would
clobber one of them and lists them in the manifest::

    inputs = Inputs(["FireAct/gpt_format"], "auto")     # directories expanded, nothing read yet
    with RunDir(out, "convert", file=True, inputs=inputs) as run:
        for item in inputs:                            # Trajectory or Reject, file after file
            ...
        run.manifest(read=inputs.read, ...)            # + "inputs" (sha256, licence, counts) and "side_files"

A file is recorded (in provenance, rejects and the manifest) under its *source*: the path as given by default,
or what the caller names (a recipe input relative to the data root). ``group`` sorts files into the roles a
command gives them (audit's corpus and ``--against`` sets, Agent-H's sources).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentflan.formats.base import SideFile
from agentflan.pipeline.batches import FIRST_BATCH, Batch, batches, expected_bytes, read_task, task_weight
from agentflan.pipeline.executors import Executor
from agentflan.pipeline.read import InputStats, count_reject, read_file, side_files_of
from agentflan.pipeline.sidefiles import SideFiles
from agentflan.pipeline.sources import Reject, SourceRecord, expand_inputs, iter_records
from agentflan.schema import Trajectory


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file to read: where it is opened (`location`), how it is recorded (``source``), its format, the
    argument it came from (`given`)."""

    source: str
    fmt: str = "auto"
    group: str = "input"
    # A build holds one of these per input file (10,903 at 30x the corpora), so its paths are not each a string
    # of its own (a string per file was 1.6 MiB there): where the file is opened is ``head`` + ``source`` when
    # that path ends with the recorded one (a recipe's inputs under the data root, a path recorded as given),
    # ``head`` being one string for many files; else ``head`` alone (``whole``).
    head: str = ""
    whole: bool = False
    named_by: str | None = None  # the directory or pattern that named it; None: the file itself was named

    @property
    def location(self) -> str:
        return self.head if self.whole else self.head + self.source

    @property
    def given(self) -> str:
        """The path or recipe entry that named the file (a directory names many files)."""
        return self.location if self.named_by is None else self.named_by

    @property
    def path(self) -> Path:
        return Path(self.location)


class Inputs:
    """The files a command reads and what reading them found. ``paths`` (files or directories) are expanded
    now, so a missing one is an `InputError` before any output is touched; more files may be `add`-ed."""

    def __init__(self, paths: Iterable[str | Path] = (), fmt: str = "auto", *, flag_calls: bool = True,
                 group: str = "input") -> None:
        self.fmt = fmt
        self.flag_calls = flag_calls
        self.given: list[Path] = []
        self.files: list[InputFile] = []
        # source → ledger for the ``input`` group (the source string itself the key: a tuple a file cost 56 bytes,
        # 0.6 MiB of a build at 30x), (group, source) → ledger for the others; in reading order
        self._ledgers: dict[str | tuple[str, str], InputStats] = {}
        self._heads: dict[str, str] = {}  # one string for each `InputFile.head`
        self.add(paths, group=group)

    # -- what will be read ---------------------------------------------------------------------------------------

    def add(self, paths: Iterable[str | Path], fmt: str | None = None, group: str = "input",
            source: str | None = None, relative_to: Path | None = None) -> list[InputFile]:
        """Add files (directories expanded, as `expand_inputs`), in order. How each is recorded: ``source``
        (for a single file), or its path relative to ``relative_to``, or its path as given."""
        added: list[InputFile] = []
        for given in map(Path, paths):
            found = expand_inputs([given])
            if found != [given]:  # a file given is guarded as one of the files: a second Path of each cost
                self.given.append(given)  # ~350 bytes per input file of a build (10,902 at 30x the corpora)
            for path in found:
                recorded = source or (str(path.relative_to(relative_to)) if relative_to is not None
                                      and path.is_relative_to(relative_to) else str(path))
                location = str(path)
                named_by = None if path == given else str(given)  # one string for all the files it names
                whole = not location.endswith(recorded)
                head = location if whole else location[:len(location) - len(recorded)]
                added.append(InputFile(recorded, fmt or self.fmt, group,
                                       head if whole else self._heads.setdefault(head, head), whole, named_by))
        self.files.extend(added)
        return added

    def guarded(self) -> list[Path]:
        """The paths an output must not replace: every argument as given and every file it names."""
        return [*self.given, *(f.path for f in self.files)]

    def of(self, group: str) -> list[InputFile]:
        return [f for f in self.files if f.group == group]

    # -- reading -------------------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Trajectory | Reject]:
        """Every file of the ``input`` group in turn (other groups are read by name, with `read`)."""
        for f in self.of("input"):
            yield from self.read(f)

    def read(self, file: InputFile) -> Iterator[Trajectory | Reject]:
        """One file's trajectories and rejects, counted in its ledger (opened when first read; the file hashed as it
        is read)."""
        yield from read_file(file.path, file.fmt, self.ledger(file), self.flag_calls)

    def stream(self, files: list[InputFile], executor: Executor | None = None
               ) -> Iterator[tuple[InputFile, Trajectory | Reject]]:
        """Every item of ``files``, file after file, with the file it came from: read in batches under
        ``executor`` (`executors`; one `Executor.map` over all the files, so that workers start at most once), or
        here when None. The items and ledgers are the same either way."""
        if executor is None:
            for file in files:
                yield from ((file, item) for item in self.read(file))
            return
        owners: deque[InputFile] = deque()  # the file of each task handed out, in order

        def tasks() -> Iterator[Batch | Reject]:
            for n, file in enumerate(files):
                for task in batches(file.path, file.fmt, self.ledger(file), flag_calls=self.flag_calls,
                                    first=FIRST_BATCH if n == 0 else None):
                    owners.append(file)
                    yield task

        # The caller's own work on each item (build's stages, audit's sections) stays in this process, and the
        # items come back as pickled models: on 2 CPUs reading in workers measured 0.85-1.0x (docs/benchmarks.md).
        for items, stats in executor.map(read_task, tasks(), weight=task_weight,
                                         total=sum(expected_bytes(f.path) for f in files), min_cpus=3):
            file = owners.popleft()
            if stats is not None:
                self.ledger(file).add(stats)
            yield from ((file, item) for item in items)

    def records(self, file: InputFile) -> Iterator[SourceRecord | Reject]:
        """One file's raw records, for a file no format reader reads (query lists, model replies): a decodable
        record counts as accepted, an undecodable one as rejected (recorded under the file's source)."""
        stats = self.ledger(file)
        for rec in iter_records(file.path, stats.hasher()):
            if isinstance(rec, Reject):
                yield count_reject(stats, rec)
                continue
            stats.read += 1
            stats.accepted += 1
            yield rec

    def ledger(self, file: InputFile) -> InputStats:
        """The ledger of ``file``, created the first time it is read in its group (its sha256 found while the file
        is read, or when first asked: `InputStats.sha256`)."""
        key = file.source if file.group == "input" else (file.group, file.source)
        if key not in self._ledgers:
            self._ledgers[key] = InputStats(file.source, "", hash_from=str(file.path))
        return self._ledgers[key]

    def side_file(self, path: str | Path, beside: InputFile) -> SideFile | None:
        """A file the layout of ``beside`` names (BFCL's ``possible_answer/``), opened by a command rather than
        by a reader: decoded strictly, and hashed into the manifest like the side files readers open."""
        opener = SideFiles(str(beside.path), beside.source)
        found = opener(Path(path))
        self.ledger(beside).note_side_files(opener.opened)
        return found

    # -- the ledger, for the manifest ----------------------------------------------------------------------------

    def ledgers(self, group: str | None = None) -> list[InputStats]:
        """The ledgers of the files read (of one group), in reading order."""
        return [s for key, s in self._ledgers.items() if group is None or _group(key) == group]

    @property
    def stats(self) -> dict[str, InputStats]:
        """The ledgers of the ``input`` group by recorded source."""
        return {s.path: s for key, s in self._ledgers.items() if _group(key) == "input"}

    def input_ledger(self, source: str) -> InputStats:
        """The ledger of the ``input`` file recorded as ``source`` (once read): in constant time, for a command
        that folds in counts per batch (`stats` builds the whole mapping)."""
        return self._ledgers[source]

    @property
    def read_count(self) -> int:
        return sum(s.read for s in self.ledgers("input"))

    @property
    def accepted(self) -> int:
        return sum(s.accepted for s in self.ledgers("input"))

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.ledgers("input"))

    def rejects_by_reason(self, group: str | None = "input") -> Counter[str]:
        found: Counter[str] = Counter()
        for s in self.ledgers(group):
            found.update(s.rejects_by_reason)
        return found

    def entries(self, group: str | None = None) -> list[dict[str, Any]]:
        """The manifest's ``inputs``: each file read (of one group), with its sha256, licence, format and
        counts; listing every group, a file outside the ``input`` group names its group."""
        out = []
        for key, s in self._ledgers.items():
            g = _group(key)
            if group is None or g == group:
                out.append({**s.to_dict(), **({"group": g} if group is None and g != "input" else {})})
        return out

    def side_files(self) -> list[dict[str, str]]:
        """The manifest's ``side_files``: every file the readers opened beside an input, with its sha256."""
        return side_files_of(self.ledgers())


def _group(key: str | tuple[str, str]) -> str:
    """The group of a ledger's key in `Inputs` (a bare source: ``input``)."""
    return "input" if isinstance(key, str) else key[0]
