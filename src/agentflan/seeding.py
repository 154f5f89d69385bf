"""Randomness that depends only on a seed and a record's identity, never on order or worker count."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def stable_hash(*keys: object) -> int:
    """A 64-bit hash of the keys that is the same in every process (unlike ``hash()``)."""
    digest = hashlib.blake2b("\x1f".join(map(str, keys)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng_for(seed: int, *keys: object) -> random.Random:
    """A `random.Random` for one decision about one record, e.g. ``rng_for(seed, record_id, "negatives")``."""
    return random.Random(stable_hash(seed, *keys))


def ranked(items: Iterable[T], seed: int, purpose: str, key: Callable[[T], Any] | None = None) -> list[T]:
    """``items`` in a seeded order that depends only on the seed, the purpose and each item's key (the item
    itself by default), never on input order: by ``stable_hash(seed, key, purpose)``, ties by the key. Taking
    the first n is a seeded choice of n.

    >>> ranked(["b", "a", "c"], 0, "demo") == ranked(["c", "b", "a"], 0, "demo")
    True
    >>> ranked(["b", "a", "c"], 0, "demo") == ranked(["b", "a", "c"], 1, "demo")
    False
    """
    get = key or (lambda item: item)
    return sorted(items, key=lambda item: (stable_hash(seed, get(item), purpose), get(item)))
