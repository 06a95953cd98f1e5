"""A durable copy whose writes are held in memory and saved together, every few seconds.

The features worker writes the durable copy of an entity's state after every batch that touched
it; most entities are touched again within seconds. ``DeferredStateStore`` keeps, per entity (and
generation), only the newest state ``save`` was given, and ``flush`` writes those rows through
the store it wraps: one row per entity per flush instead of one per batch.

Its contract with the caller: a state handed to ``save`` is durable only once a ``flush`` that
started after that ``save`` returned. The worker therefore holds the acknowledgements of a
batch's events until such a flush (``streams.features.held_acks``), so a crash redelivers every
event whose state was not yet durable and the fences skip what the working copy already has.

- Rows leave the buffer only when written: a failed flush puts them back (a newer state saved
  meanwhile wins), so the next flush writes them.
- Flushes run one at a time, in order (one lock): a flush that returns covers every save that
  returned before it started, including the rows an earlier, concurrent flush was writing.
- ``load``, ``load_user`` and ``drop`` flush first: a reload after Redis lost its data gets the
  newest states, not the last flushed ones.
- Generations (``for_generation``) share the buffer and the lock; each row is written to its
  own generation's partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from store.feature_state import DurableStateStore, StateKey, StoredState

RowKey = tuple[int, str, StateKey]  # (generation, shard, entity)


class _Buffer:
    """What the siblings of one store share: the held rows and the flush lock."""

    def __init__(self) -> None:
        self.rows: dict[RowKey, StoredState] = {}
        self.lock = asyncio.Lock()

    def hold(self, where: RowKey, state: StoredState) -> None:
        known = self.rows.get(where)
        if known is None or state.version >= known.version:
            self.rows[where] = state


class DeferredStateStore(DurableStateStore):
    def __init__(self, inner: DurableStateStore, *, generation: int = 0) -> None:
        """``inner``: the store of generation 0 the rows are written to (``for_generation`` of
        it for the others)."""
        self.inner = inner
        self.generation = generation
        self._buffer = _Buffer()

    def for_generation(self, generation: int) -> DeferredStateStore:
        sibling = DeferredStateStore(self.inner, generation=generation)
        sibling._buffer = self._buffer
        return sibling

    def _store(self, generation: int) -> DurableStateStore:
        return self.inner if generation == 0 else self.inner.for_generation(generation)

    @property
    def held(self) -> int:
        """Entity states waiting for a flush (every generation)."""
        return len(self._buffer.rows)

    async def save(self, states: Sequence[tuple[str, StateKey, StoredState]]) -> None:
        """Hold the rows (the newest version of each entity); ``flush`` writes them."""
        for shard, key, state in states:
            self._buffer.hold((self.generation, shard, key), state)

    async def flush(self) -> int:
        """Write every held row (all generations); returns how many."""
        buffer = self._buffer
        async with buffer.lock:
            rows, buffer.rows = buffer.rows, {}
            if not rows:
                return 0
            by_generation: dict[int, list[tuple[str, StateKey, StoredState]]] = {}
            for (generation, shard, key), state in rows.items():
                by_generation.setdefault(generation, []).append((shard, key, state))
            try:
                for generation, listed in by_generation.items():
                    await self._store(generation).save(listed)
            except BaseException:
                for where, state in rows.items():  # written again next time
                    buffer.hold(where, state)
                raise
            return len(rows)

    async def load(self, shard: str) -> list[tuple[StateKey, StoredState]]:
        await self.flush()
        return await self._store(self.generation).load(shard)

    async def load_user(
        self, shard: str, entity: str, user_id: str
    ) -> list[tuple[StateKey, StoredState]]:
        await self.flush()
        return await self._store(self.generation).load_user(shard, entity, user_id)

    async def drop(self, shards: Sequence[str]) -> None:
        await self.flush()
        await self._store(self.generation).drop(shards)
