"""Randomness that depends only on a seed and a record's identity, never on order or worker count."""

from __future__ import annotations

import hashlib
import random


def stable_hash(*keys: object) -> int:
    """A 64-bit hash of the keys that is the same in every process (unlike ``hash()``)."""
    digest = hashlib.blake2b("\x1f".join(map(str, keys)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng_for(seed: int, *keys: object) -> random.Random:
    """A `random.Random` for one decision about one record, e.g. ``rng_for(seed, record_id, "negatives")``."""
    return random.Random(stable_hash(seed, *keys))


def uniform(seed: int, *keys: object) -> float:
    """A number in [0, 1) fixed by the seed and the keys (for "keep with probability p" decisions)."""
    return stable_hash(seed, *keys) / 2**64
