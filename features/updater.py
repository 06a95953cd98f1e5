"""Apply batches of events to entity states in the state stores, and refresh slid windows.

One ``FeatureUpdater`` serves the live worker, replays and rebuilds alike (the same code, so
"replay = live" holds by construction):

- ``apply``: per entity, read the state, apply its events (fenced by source offsets), evaluate
  every group at now, then compare-and-set state and serving values in one script. An entity
  whose state changed meanwhile (another worker during a rebalance) is read and applied again:
  its fences skip what the other worker applied. Then the new states go to the durable copy;
  only after that may the caller acknowledge the events.
- ``ensure_intact``: a shard whose sentinel is gone (Redis lost its data) is reloaded from the
  durable copy, with its serving values recomputed, before anything else touches it.
- ``refresh``: recompute the serving values whose windows slid (``valid_until_ms`` passed).
- Generations (``store.feature_generations``): an updater writes one generation of the store
  (``for_generation``); the live worker's goes through ``features.generation_gate``, which
  picks the generation each call writes.
- Forgotten users (``tombstones``): events of a forgotten user with ``ts <= forgotten_at`` are
  not applied to the user's own entities (keyed first by ``user_id``); ``features.forgetting``
  replaces those entities' states by ``ERASED`` (versioned) and deletes their serving values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.clock import Clock, wall_clock_ms
from features.aggregate import ApplyResult, FeatureEvent, apply_events
from features.catalogue import Catalogue, definitions_digest
from features.evaluate import evaluate_entity
from features.plan import EntityPlan
from features.serving import encode_serving_fields
from features.state import EntityState
from features.state_cache import StateCache
from store.feature_generations import generation_prefix
from store.feature_state import (
    DurableStateStore,
    StateKey,
    StateWrite,
    StoredState,
    WorkingStateStore,
)
from store.feature_store import serving_keys
from store.tombstones import TombstoneCache

MAX_ATTEMPTS = 20
REFRESH_PAGE = 2000
MAX_REFRESH_PAGES = 50  # per shard and call: a tick never runs unbounded
LOCAL_KEY = "user_id"
"""The events topic's key: entities keyed first by it belong to one user."""
ERASED = EntityState().encode()
"""The state of a forgotten user's entity: nothing applied, no serving values."""


def user_keyed(plan: EntityPlan) -> bool:
    """Whether the entity belongs to one user (erased when the user is forgotten)."""
    return plan.keys[0] == LOCAL_KEY


@dataclass(slots=True)
class EntityBatch:
    """The events of one entity in one batch, in source order, and the shard that owns it."""

    shard: str
    key: StateKey
    events: list[FeatureEvent] = field(default_factory=list)


Visible = Callable[["UpdateReport"], None]


@dataclass(slots=True)
class UpdateReport:
    applied: int = 0
    duplicates: int = 0
    late: int = 0
    conflicts: int = 0
    reloaded: int = 0
    forgotten: int = 0
    visible: list[tuple[str, list[int]]] = field(default_factory=list)
    """Per written group value, the event times it made visible (for the freshness metric)."""


class FeatureUpdater:
    def __init__(
        self,
        catalogue: Catalogue,
        plans: dict[str, EntityPlan],
        working: WorkingStateStore,
        durable: DurableStateStore,
        *,
        key_prefix: str,
        lateness_ms: int,
        clock: Clock = wall_clock_ms,
        state_cache_entries: int = 30_000,
        tombstones: TombstoneCache | None = None,
        generation: int = 0,
    ) -> None:
        """``state_cache_entries``: how many states this updater wrote last it keeps decoded
        (``features.state_cache``); 0 reads every state from the working store. ``key_prefix``:
        the configured one; this updater writes ``generation`` under it."""
        self.catalogue = catalogue
        self.plans = plans
        self.base_prefix = key_prefix
        self.generation = generation
        self.prefix = generation_prefix(key_prefix, generation)
        self.working = working if generation == 0 else working.for_prefix(self.prefix)
        self.durable = durable if generation == 0 else durable.for_generation(generation)
        self.lateness_ms = lateness_ms
        self.clock = clock
        self.tombstones = tombstones
        self.definitions = definitions_digest(catalogue)
        self._generations: dict[int, FeatureUpdater] = {}
        self._group_keys = functools.lru_cache(maxsize=65_536)(self._serving_keys)
        self.cache = StateCache(state_cache_entries)
        self._fingerprints: dict[str, list[str]] = {}  # per entity, its groups' (plan order)

    def for_generation(self, generation: int) -> FeatureUpdater:
        """An updater of the same definitions and stores writing ``generation`` (kept: each
        generation's updater keeps its own states)."""
        found = self._generations.get(generation)
        if found is None:
            found = self._generations[generation] = FeatureUpdater(
                self.catalogue, self.plans, self.working, self.durable,
                key_prefix=self.base_prefix, lateness_ms=self.lateness_ms, clock=self.clock,
                state_cache_entries=self.cache.capacity, tombstones=self.tombstones,
                generation=generation,
            )  # fmt: skip
        return found

    def keys_of(self, key: StateKey) -> list[str]:
        """The entity's serving keys (every group of its plan) in this generation."""
        return self._group_keys(key.entity, key.ids)

    def _serving_keys(self, entity: str, ids: tuple[str, ...]) -> list[str]:
        """The entity's serving key of each group of its plan, in plan order."""
        groups = [group.name for group in self.plans[entity].groups]
        return serving_keys(self.prefix, entity, [ids], groups)

    def serving(
        self, key: StateKey, state: EntityState, now_ms: int
    ) -> tuple[dict[str, bytes], int | None]:
        """Every group's serving value of an entity at ``now_ms``, and when to recompute them;
        none for a state nothing was applied to (an erased one)."""
        if not state.fences:
            return {}, None
        plan = self.plans[key.entity]
        fingerprints = self._fingerprints.get(key.entity)
        if fingerprints is None:
            fingerprints = self._fingerprints[key.entity] = [
                self.catalogue.fingerprints[group.name] for group in plan.groups
            ]
        keys = self._group_keys(key.entity, key.ids)
        values: dict[str, bytes] = {}
        refresh_at: int | None = None
        for fingerprint, serving_key, (served, event_ts_ms, valid_until_ms) in zip(
            fingerprints, keys, evaluate_entity(plan, state, now_ms), strict=True
        ):
            values[serving_key] = encode_serving_fields(
                fingerprint, event_ts_ms or 0, now_ms, valid_until_ms, served
            )
            if valid_until_ms is not None and (refresh_at is None or valid_until_ms < refresh_at):
                refresh_at = valid_until_ms
        return values, refresh_at

    async def ensure_intact(self, shards: Sequence[str]) -> int:
        """Reload the shards whose working copy was lost; returns how many states came back."""
        reloaded = 0
        for shard in await self.working.lost_shards(sorted(set(shards))):
            now_ms = self.clock()
            writes: list[StateWrite] = []
            for key, stored in await self.durable.load(shard):
                serving, refresh_at = self.serving(key, EntityState.decode(stored.blob), now_ms)
                writes.append(
                    StateWrite(shard, key, None, stored.version, stored.blob, serving, refresh_at)
                )
            reloaded += await self.working.reload(shard, writes)
            await self.working.mark_intact(shard)
        return reloaded

    async def apply(
        self, batches: Sequence[EntityBatch], on_visible: Visible | None = None
    ) -> UpdateReport:
        """``on_visible``: called with the report once the states and serving values are in
        the working store (visible to readers), before the durable copy is written."""
        report = UpdateReport()
        report.reloaded = await self.ensure_intact([b.shard for b in batches])
        pending = [b for b in batches if b.key.entity in self.plans]
        if self.tombstones is not None:
            before = self.tombstones.forgotten
            await self.tombstones.refresh_if_due()
            if self.tombstones.forgotten != before:  # a user forgotten since: the eraser's
                await self.durable.flush()  # second pass must find their states durable
            if self.tombstones.forgotten:
                pending, report.forgotten = self._without_forgotten(pending)
        saved: list[tuple[str, StateKey, StoredState]] = []
        for _ in range(MAX_ATTEMPTS):
            if not pending:
                break
            kept = [self.cache.take(b.key) for b in pending]
            misses = [b.key for b, hit in zip(pending, kept, strict=True) if hit is None]
            stored = iter(await self.working.read(misses))
            now_ms = self.clock()
            writes: list[StateWrite] = []
            results: list[ApplyResult] = []
            states: list[EntityState] = []
            for batch, hit in zip(pending, kept, strict=True):
                digest: str | None = None
                expected: int | None
                if hit is not None:  # written by this updater last: checked by the write
                    state, expected, digest = hit.state, hit.version, hit.digest
                else:
                    known = next(stored)
                    state = EntityState() if known is None else EntityState.decode(known.blob)
                    expected = None if known is None else known.version
                results.append(
                    apply_events(
                        self.plans[batch.key.entity], state, batch.events, self.lateness_ms
                    )
                )
                states.append(state)
                serving, refresh_at = self.serving(batch.key, state, now_ms)
                version = 1 if expected is None else expected + 1
                blob = state.encode()
                writes.append(
                    StateWrite(
                        batch.shard, batch.key, expected, version, blob, serving, refresh_at,
                        digest,
                    )
                )  # fmt: skip
            done = await self.working.write(writes)
            retry: list[EntityBatch] = []
            for batch, write, result, state, ok in zip(
                pending, writes, results, states, done, strict=True
            ):
                if not ok:
                    retry.append(batch)
                    continue
                assert write.blob is not None
                self.cache.put(write.key, write.version, write.blob, state)
                saved.append((write.shard, write.key, StoredState(write.version, write.blob)))
                report.applied += result.applied
                report.duplicates += result.duplicates
                report.late += result.late
                times = [e.ts_ms for e in batch.events]
                groups = self.plans[batch.key.entity].groups
                report.visible.extend((g.name, times) for g in groups)
            report.conflicts += len(retry)
            if retry:
                report.reloaded += await self.ensure_intact([b.shard for b in retry])
            pending = retry
        if pending:
            raise RuntimeError(f"{len(pending)} entity states kept changing under this worker")
        if on_visible is not None:
            on_visible(report)
        await self.durable.save(saved)
        return report

    def _without_forgotten(self, batches: list[EntityBatch]) -> tuple[list[EntityBatch], int]:
        """The batches without the events of forgotten users in their own entities."""
        assert self.tombstones is not None
        forgotten = self.tombstones.is_forgotten
        kept: list[EntityBatch] = []
        skipped = 0
        for batch in batches:
            user = batch.key.ids[0]
            if user not in self.tombstones.forgotten or not user_keyed(
                self.plans[batch.key.entity]
            ):
                kept.append(batch)
                continue
            events = [e for e in batch.events if not forgotten(user, e.ts_ms)]
            skipped += len(batch.events) - len(events)
            if events:
                kept.append(EntityBatch(batch.shard, batch.key, events))
        return kept, skipped

    async def refresh(self, shard: str) -> int:
        """Recompute the values of the shard's entities whose windows slid; returns how many."""
        refreshed = 0
        for _ in range(MAX_REFRESH_PAGES):
            now_ms = self.clock()
            keys = await self.working.due(shard, now_ms, REFRESH_PAGE)
            stored = await self.working.read(keys)
            writes = []
            for key, known in zip(keys, stored, strict=True):
                if known is None or key.entity not in self.plans:
                    continue
                serving, refresh_at = self.serving(key, EntityState.decode(known.blob), now_ms)
                writes.append(
                    StateWrite(
                        shard, key, known.version, known.version + 1, None, serving, refresh_at
                    )
                )
            done = await self.working.write(writes)
            for write, ok in zip(writes, done, strict=True):
                if ok:
                    self.cache.rewritten(write.key, write.version)
            refreshed += sum(done)
            if len(keys) < REFRESH_PAGE:
                break
        return refreshed
