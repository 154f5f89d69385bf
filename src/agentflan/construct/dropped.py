"""The records `build` leaves out for good while reading (over their input's cap, unfinished, flagged, held
out), packed: what their reject rows need (key, input, reason, line, index, id) in a few arrays and one bytes
blob, not an object per record. At 30× the shared corpora 57,000 of the 84,000 records read are left out this
way; an `Item`, its key, its spill offset and a dict entry each cost about 250 bytes, these rows about 60.

>>> from agentflan.schema import Message, Provenance, Trajectory
>>> d = Dropped()
>>> t = Trajectory(id="x", messages=[Message(role="user", content="hi")], provenance=Provenance(source="a", line=3))
>>> d.add("lab/x", "a.jsonl", "over_cap", "lab: cap 1", t)
>>> list(d.rows())
[('lab/x', 'a.jsonl', 'over_cap', 'lab: cap 1', 3, None, 'x')]
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from agentflan.schema import Trajectory

from .packed import Interned, Strings

# (key, input as recorded, reason, detail, line, index, trajectory id): `Reject.of` of the record, without it.
Row = tuple[str, str, str, str, int | None, int | None, str]

_NONE = -1  # line and index are never negative


class Dropped:
    """Rows appended once, read back sorted by key (the order the build's rejects file lists them in)."""

    def __init__(self) -> None:
        self._keys = Strings()
        self._paths: Interned[str] = Interned()
        self._whys: Interned[tuple[str, str]] = Interned()
        self._cols = {name: array("q") for name in ("path", "why", "line", "index", "id_at")}
        self._ids: dict[int, str] = {}  # row → trajectory id, where the key does not end with it

    def add(self, key: str, path: str, reason: str, detail: str, traj: Trajectory) -> None:
        prov = traj.provenance
        line = prov.line if prov is not None else None
        index = prov.index if prov is not None else None
        self.add_row(key, path, reason, detail, line, index, traj.id)

    def add_row(self, key: str, path: str, reason: str, detail: str, line: int | None, index: int | None,
                traj_id: str) -> None:
        row = len(self._keys)
        self._keys.append(key)
        id_at = len(key) - len(traj_id)  # a key is "<label>/<id>" (or "...~n"): the id is its tail, mostly
        if id_at <= 0 or key[id_at:] != traj_id:
            id_at = _NONE
            self._ids[row] = traj_id
        cols = self._cols
        for name, value in (("path", self._paths.at(path)), ("why", self._whys.at((reason, detail))),
                            ("line", _NONE if line is None else line),
                            ("index", _NONE if index is None else index), ("id_at", id_at)):
            cols[name].append(value)

    def __len__(self) -> int:
        return len(self._keys)

    def paths_and_reasons(self) -> Iterator[tuple[str, str]]:
        """(input, reason) of every row, in the order added (for counting)."""
        paths, whys, cols = self._paths, self._whys, self._cols
        for p, w in zip(cols["path"], cols["why"], strict=True):
            yield paths[p], whys[w][0]

    def rows(self) -> Iterator[Row]:
        """Every row, sorted by key."""
        cols = self._cols
        for r in self._keys.sorted_order():
            key = self._keys[r]
            reason, detail = self._whys[cols["why"][r]]
            line, index, id_at = cols["line"][r], cols["index"][r], cols["id_at"][r]
            yield (key, self._paths[cols["path"][r]], reason, detail, None if line == _NONE else line,
                   None if index == _NONE else index, self._ids[r] if id_at == _NONE else key[id_at:])
