"""The feature state stores in dicts, keyed like the real ones by prefix (generation) and
shard: for unit tests of the updater's pure logic (forgetting, generations, routing)."""

from __future__ import annotations

from collections.abc import Sequence

from store.feature_generations import durable_shard
from store.feature_state import (
    DurableStateStore,
    StateKey,
    StateWrite,
    StoredState,
    WorkingStateStore,
)


class MemoryWorking(WorkingStateStore):
    """Compare-and-set on dicts shared by every prefix; states keyed by (prefix, key)."""

    def __init__(self, prefix: str = "t", shared: MemoryWorking | None = None) -> None:
        self.prefix = prefix
        self.states: dict[tuple[str, StateKey], StoredState] = shared.states if shared else {}
        self.serving: dict[str, bytes] = shared.serving if shared else {}
        self.index: dict[tuple[str, str], dict[str, int]] = shared.index if shared else {}

    def for_prefix(self, prefix: str) -> MemoryWorking:
        return MemoryWorking(prefix, self)

    async def lost_shards(self, shards: Sequence[str]) -> list[str]:
        return []

    async def mark_intact(self, shard: str) -> None:
        return None

    async def read(self, keys: Sequence[StateKey]) -> list[StoredState | None]:
        return [self.states.get((self.prefix, k)) for k in keys]

    async def write(self, writes: Sequence[StateWrite]) -> list[bool]:
        done = []
        for w in writes:
            known = self.states.get((self.prefix, w.key))
            ok = (None if known is None else known.version) == w.expected
            if ok:
                blob = w.blob if w.blob is not None else known.blob  # type: ignore[union-attr]
                self.states[(self.prefix, w.key)] = StoredState(w.version, blob)
                self.serving.update(w.serving)
                index = self.index.setdefault((self.prefix, w.shard), {})
                if w.refresh_at_ms is None:
                    index.pop(w.key.member(), None)
                else:
                    index[w.key.member()] = w.refresh_at_ms
            done.append(ok)
        return done

    async def reload(self, shard: str, states: Sequence[StateWrite]) -> int:
        return 0

    async def erase(
        self, shards: Sequence[str], keys: Sequence[StateKey], values: Sequence[str]
    ) -> None:
        for value in values:
            self.serving.pop(value, None)
        for shard in shards:
            for key in keys:
                self.index.get((self.prefix, shard), {}).pop(key.member(), None)

    async def due(self, shard: str, now_ms: int, limit: int) -> list[StateKey]:
        return []


class MemoryDurable(DurableStateStore):
    """Rows by (partition, key), the highest version kept (as Cassandra's write time does)."""

    def __init__(self, generation: int = 0, shared: MemoryDurable | None = None) -> None:
        self.generation = generation
        self.rows: dict[tuple[str, StateKey], StoredState] = shared.rows if shared else {}

    def for_generation(self, generation: int) -> MemoryDurable:
        return MemoryDurable(generation, self)

    async def save(self, states: Sequence[tuple[str, StateKey, StoredState]]) -> None:
        for shard, key, state in states:
            row = (durable_shard(shard, self.generation), key)
            known = self.rows.get(row)
            if known is None or known.version < state.version:
                self.rows[row] = state

    async def load(self, shard: str) -> list[tuple[StateKey, StoredState]]:
        partition = durable_shard(shard, self.generation)
        return [(k, s) for (p, k), s in self.rows.items() if p == partition]

    async def load_user(
        self, shard: str, entity: str, user_id: str
    ) -> list[tuple[StateKey, StoredState]]:
        return [
            (k, s) for k, s in await self.load(shard) if k.entity == entity and k.ids[0] == user_id
        ]
