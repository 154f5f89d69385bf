"""Exact and near-duplicate trajectories.

Exact: the same tools and messages (ids, provenance and metadata aside). Near: MinHash over word 5-gram
shingles of the user queries plus the actions (call names and arguments; the reply text when there is no call),
with LSH banding to find candidates and the signature agreement as the estimated Jaccard similarity.
MinHash is the classic scheme (Broder 1997; as in datasketch): h(x) = (a·x + b) mod (2^61 − 1), truncated to
32 bits, with permutations fixed by a constant seed so reports are reproducible.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import numpy as np

from agentflan.audit.record import AuditedRecord, share, user_queries
from agentflan.audit.section import Findings
from agentflan.schema import Trajectory

_PRIME = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64((1 << 32) - 1)
_WORD = re.compile(r"\w+", re.UNICODE)


class MinHasher:
    def __init__(self, num_perm: int = 128, seed: int = 1, shingle: int = 5) -> None:
        rng = np.random.RandomState(seed)
        # a, b < 2^31 and x < 2^32 keep a·x + b below 2^63: no uint64 overflow before the modulo.
        self.a = rng.randint(1, 1 << 31, size=num_perm, dtype=np.uint64)
        self.b = rng.randint(0, 1 << 31, size=num_perm, dtype=np.uint64)
        self.num_perm = num_perm
        self.shingle = shingle

    def shingles(self, text: str) -> set[str]:
        words = _WORD.findall(text.lower())
        if len(words) <= self.shingle:
            return {" ".join(words)} if words else set()
        return {" ".join(words[i : i + self.shingle]) for i in range(len(words) - self.shingle + 1)}

    def signature(self, text: str) -> np.ndarray:
        shingles = self.shingles(text)
        if not shingles:
            return np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        hashes = np.fromiter(
            (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little") for s in shingles),
            dtype=np.uint64, count=len(shingles))
        values = ((np.outer(self.a, hashes) + self.b[:, None]) % _PRIME) & _MAX32
        return values.min(axis=1).astype(np.uint32)


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float(np.mean(sig_a == sig_b))


def exact_key(traj: Trajectory) -> str:
    body = {"tools": [t.model_dump(mode="json") for t in traj.tools],
            "messages": [m.model_dump(mode="json", exclude={"metadata"}) for m in traj.messages]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def near_text(traj: Trajectory) -> str:
    """The user queries and the actions: what makes two samples teach the same thing."""
    pieces = list(user_queries(traj))
    for m in traj.messages:
        if m.role != "assistant":
            continue
        if m.tool_calls:
            pieces.extend(f"{c.name} {json.dumps(c.arguments, sort_keys=True, ensure_ascii=False)}"
                          for c in m.tool_calls)
        else:
            pieces.append(m.content)
    return "\n".join(pieces)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class Duplicates:
    def __init__(self, threshold: float = 0.8, num_perm: int = 128, bands: int = 16, examples: int = 5) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.hasher = MinHasher(num_perm)
        self.threshold = threshold
        self.bands = bands
        self.rows = num_perm // bands
        self.examples = examples
        self.ids: list[str] = []
        self.snippets: list[str] = []
        self.exact: dict[str, list[int]] = {}
        self.signatures: list[np.ndarray] = []  # one per exact group representative
        self.rep_index: list[int] = []  # record index of each signature
        self.buckets: dict[tuple[int, bytes], int] = {}  # band bucket -> first signature seen there
        self.uf = _UnionFind()
        self.best: dict[tuple[int, int], float] = {}

    def add(self, rec: AuditedRecord) -> None:
        index = len(self.ids)
        self.ids.append(rec.id)
        text = near_text(rec.traj)
        self.snippets.append(" ".join(text.split())[:160])
        key = exact_key(rec.traj)
        group = self.exact.setdefault(key, [])
        group.append(index)
        if len(group) > 1:
            return  # exact copies are reported as such, not again as near copies
        sig = self.hasher.signature(text)
        s = len(self.signatures)
        self.signatures.append(sig)
        self.rep_index.append(index)
        for band in range(self.bands):
            bucket = (band, sig[band * self.rows : (band + 1) * self.rows].tobytes())
            first = self.buckets.setdefault(bucket, s)
            if first != s and self.uf.find(first) != self.uf.find(s):
                sim = jaccard_estimate(self.signatures[first], sig)
                if sim >= self.threshold:
                    self.uf.union(first, s)
                    self.best[(first, s)] = sim

    def report(self) -> Findings:
        d = self.result()
        return Findings({"duplicates": d}, {"duplicates": d["duplicate_share"], "exact_duplicates": d["exact"]["share"],
                                            "near_duplicates": d["near"]["share"]})

    def result(self) -> dict[str, Any]:
        n = len(self.ids)
        exact_groups = [g for g in self.exact.values() if len(g) > 1]
        exact_extra = sum(len(g) - 1 for g in exact_groups)
        clusters: dict[int, list[int]] = {}
        for s in range(len(self.signatures)):
            clusters.setdefault(self.uf.find(s), []).append(s)
        near_groups = [members for members in clusters.values() if len(members) > 1]
        near_extra = sum(len(g) - 1 for g in near_groups)
        sims: dict[int, float] = {}
        for (a, _b), sim in self.best.items():
            root = self.uf.find(a)
            sims[root] = min(sims.get(root, 1.0), sim)
        near_groups.sort(key=lambda g: (-len(g), g[0]))
        exact_groups.sort(key=lambda g: (-len(g), g[0]))
        return {
            "exact": {
                "groups": len(exact_groups),
                "duplicate_records": exact_extra,
                "share": share(exact_extra, n),
                "examples": [{"ids": [self.ids[i] for i in g[:5]], "size": len(g), "text": self.snippets[g[0]]}
                             for g in exact_groups[: self.examples]],
            },
            "near": {
                "method": f"MinHash {self.hasher.num_perm} permutations over word {self.hasher.shingle}-grams of "
                          f"user queries + actions; LSH {self.bands} bands × {self.rows} rows; "
                          f"estimated Jaccard ≥ {self.threshold}",
                "threshold": self.threshold,
                "groups": len(near_groups),
                "duplicate_records": near_extra,
                "share": share(near_extra, n),
                "examples": [
                    {"ids": [self.ids[self.rep_index[s]] for s in g[:5]], "size": len(g),
                     "min_similarity": round(sims.get(self.uf.find(g[0]), 1.0), 3),
                     "text": self.snippets[self.rep_index[g[0]]]}
                    for g in near_groups[: self.examples]
                ],
            },
            "duplicate_share": share(exact_extra + near_extra, n),
        }
