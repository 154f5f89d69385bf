"""Where `build` keeps the trajectories it is working on: in memory, or spilled to a temporary file so that what
it holds per record is a compact index entry (a key, an offset, a few metadata values), whatever the corpus size.

Every stage makes its global decisions (caps, fractions, rankings, balancing) on keys and counts, and fetches a
record only to work on it; `Store.get` re-reads the record from the spill file (a few recent ones cached). Both
modes run the same stage code on the same values, so their outputs are byte-identical (a test compares them on
the shared corpora).

>>> from agentflan.schema import Message, Trajectory
>>> store = Store(spill=True)
>>> ref = store.put(Trajectory(id="t", messages=[Message(role="user", content="hi")]))
>>> store.get(ref).id
't'
"""

from __future__ import annotations

import pickle
import tempfile
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from typing import IO, Any

from agentflan.schema import Trajectory

from .packed import Interned, Strings

# A spilled record: its offset and length in the spill file as one int (an index entry per record is small when
# it is one object); a kept one is the trajectory itself.
Ref = int | Trajectory
_LENGTH_BITS = 32

_CACHED = 64  # recent fetches kept: a stage often reads one record several times in a row


class Store:
    """Trajectories by reference: kept as they are (``spill=False``) or serialised to an anonymous temporary
    file (``spill=True``: removed when the store is closed or the process ends)."""

    def __init__(self, spill: bool = False) -> None:
        self.spill = spill
        self._file: IO[bytes] | None = tempfile.TemporaryFile(prefix="agentflan-build-") if spill else None  # noqa: SIM115 (closed by close())
        self._end = 0
        self._cache: OrderedDict[int, Trajectory] = OrderedDict()

    def put(self, traj: Trajectory) -> Ref:
        if self._file is None:
            return traj
        data = pickle.dumps(traj, protocol=pickle.HIGHEST_PROTOCOL)  # exact, values JSON cannot hold included
        self._file.seek(self._end)
        self._file.write(data)
        ref = self._end << _LENGTH_BITS | len(data)
        self._end += len(data)
        return ref

    def get(self, ref: Ref) -> Trajectory:
        if isinstance(ref, Trajectory):
            return ref
        cached = self._cache.get(ref)
        if cached is not None:
            self._cache.move_to_end(ref)
            return cached
        assert self._file is not None
        self._file.seek(ref >> _LENGTH_BITS)
        traj = pickle.loads(self._file.read(ref & ((1 << _LENGTH_BITS) - 1)))
        self._cache[ref] = traj
        if len(self._cache) > _CACHED:
            self._cache.popitem(last=False)
        return traj

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._cache.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Records:
    """The records a build has made, in order: references into a `Store`, with the few metadata values the
    manifest counts (so that counting them reads nothing back). Packed: spilled references in one array, the
    ids in one UTF-8 blob, the counted values as the index of their distinct combination (a handful), so that
    a record costs about 30 bytes here, not a tuple, an id string and an int object (about 200)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.refs: list[Ref] | array[int] = array("q") if store.spill else []
        self._ids = Strings()
        self._summary = array("l")
        self._summaries: Interned[tuple[Any, ...]] = Interned()  # distinct (kind, source, instruct format, masked)

    def append(self, traj: Trajectory) -> None:
        ref = self.store.put(traj)
        self.refs.append(ref)  # type: ignore[arg-type]  # an int when spilled (the array's type)
        self._ids.append(traj.id)
        self._summary.append(self._summaries.at(summary(traj)))

    def extend(self, trajs: Iterable[Trajectory]) -> None:
        for traj in trajs:
            self.append(traj)

    def ids(self) -> list[str]:
        return list(self.iter_ids())

    def iter_ids(self) -> Iterator[str]:
        return (self._ids[i] for i in range(len(self._ids)))

    def id(self, i: int) -> str:
        return self._ids[i]

    def summaries(self) -> Counter[tuple[Any, ...]]:
        """How many records have each (kind, source, instruct format, masked)."""
        found = Counter(self._summary)
        return Counter({self._summaries[at]: n for at, n in found.items()})

    def reordered(self, order: list[int]) -> Records:
        out = Records(self.store)
        out.refs = array("q", (self.refs[i] for i in order)) if isinstance(self.refs, array) else \
            [self.refs[i] for i in order]
        for i in order:
            out._ids.append_encoded(self._ids.encoded(i))
        out._summary = array("l", (self._summary[i] for i in order))
        out._summaries = self._summaries
        return out

    def __len__(self) -> int:
        return len(self.refs)

    def __iter__(self) -> Iterator[Trajectory]:
        return (self.store.get(ref) for ref in self.refs)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Iterable) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


def summary(traj: Trajectory) -> tuple[Any, Any, Any, bool]:
    """(kind, source, instruct format, masked): what the manifest counts of an output record."""
    meta = traj.metadata
    return meta.get("kind"), meta.get("source"), meta.get("instruct_format"), "masked" in meta


class Spilled:
    """A list appended to, then read back in order (the build's rejects), kept in a temporary file when
    ``spill``."""

    def __init__(self, spill: bool = False) -> None:
        self._items: list[Any] | None = None if spill else []
        self._file: IO[bytes] | None = tempfile.TemporaryFile(prefix="agentflan-rejects-") if spill else None  # noqa: SIM115
        self._count = 0

    def append(self, value: Any) -> None:
        self._count += 1
        if self._items is not None:
            self._items.append(value)
            return
        assert self._file is not None
        self._file.seek(0, 2)
        pickle.dump(value, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        if self._items is not None:
            yield from list(self._items)
            return
        assert self._file is not None
        pos = 0
        for _ in range(self._count):
            self._file.seek(pos)
            value = pickle.load(self._file)
            pos = self._file.tell()
            yield value
