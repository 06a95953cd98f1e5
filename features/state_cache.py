"""The entity states this worker wrote last, kept decoded, so a batch skips their read.

A batch that finds its entity here applies its events to the kept state and writes with a
compare-and-set on the kept version AND the SHA-1 of the kept bytes: if anything else wrote the
entity since (another worker during a rebalance, a reload after Redis lost its data, an erase),
the write is refused and the batch reads the stored state and applies again, as on any conflict.
An entry is taken out while a batch uses it (the batch mutates it) and put back only after its
write succeeded. Bounded: the least recently written entries leave first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from features.state import EntityState
from store.feature_state import StateKey


@dataclass(slots=True)
class CachedState:
    version: int
    digest: str  # SHA-1 (hex) of the state's bytes as written
    state: EntityState


def state_digest(blob: bytes) -> str:
    """What the working store's compare-and-set checks the stored bytes against."""
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()


class StateCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[StateKey, CachedState] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, key: StateKey) -> CachedState | None:
        """The kept state of ``key``, removed (put it back after a successful write)."""
        return self._entries.pop(key, None)

    def put(self, key: StateKey, version: int, blob: bytes, state: EntityState) -> None:
        """Keep ``state``, written as ``blob`` at ``version``."""
        if self.capacity <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = CachedState(version, state_digest(blob), state)
        if len(self._entries) > self.capacity:
            del self._entries[next(iter(self._entries))]

    def rewritten(self, key: StateKey, version: int) -> None:
        """The stored state of ``key`` was written again unchanged, now at ``version``."""
        kept = self._entries.get(key)
        if kept is not None:
            kept.version = version
