"""The live worker's updater: every call writes the generation of the feature store that is
current when it starts (``store.feature_generations``), waiting while a rebuild holds the pause.

``GatedUpdater`` wraps an ungated ``FeatureUpdater`` of generation 0: ``apply``, ``refresh`` and
``ensure_intact`` first ask the gate which generation to write (one MGET of the control keys;
it waits while a rebuild switches generations), then go to that generation's updater
(``FeatureUpdater.for_generation``: the same stores under the generation's prefix and durable
partition, each generation with a state cache of its own). Replays, rebuilds and the eraser use
ungated updaters and name their generation themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from features.plan import EntityPlan
from features.updater import EntityBatch, FeatureUpdater, UpdateReport, Visible
from store.feature_generations import Generation, changed_groups
from store.feature_state import DurableStateStore


class GenerationGate(Protocol):
    async def writable(self, definitions: str) -> int:
        """The generation to write now (waits while a rebuild holds the pause)."""
        ...

    async def recorded(self) -> tuple[Generation, dict[str, str] | None]:
        """The current generation and its groups' fingerprints (None: not recorded)."""
        ...


class GatedUpdater:
    def __init__(self, updater: FeatureUpdater, gate: GenerationGate) -> None:
        """``updater``: ungated, of generation 0 (its siblings write the other generations)."""
        self.updater = updater
        self.gate = gate
        self.definitions = updater.definitions

    @property
    def plans(self) -> dict[str, EntityPlan]:
        return self.updater.plans

    @property
    def durable(self) -> DurableStateStore:
        """Generation 0's durable copy (a deferred one shares its buffer with its siblings)."""
        return self.updater.durable

    async def changed_groups(self) -> tuple[int, list[str] | None]:
        """The current generation and the groups whose loaded definition differs from the one
        it was built with, or are new to it (None: it recorded no fingerprints)."""
        current, recorded = await self.gate.recorded()
        if recorded is None:
            return current.number, None
        return current.number, changed_groups(recorded, self.updater.catalogue.fingerprints)

    async def current(self) -> FeatureUpdater:
        """The updater of the generation to write now."""
        return self.updater.for_generation(await self.gate.writable(self.definitions))

    async def apply(
        self, batches: Sequence[EntityBatch], on_visible: Visible | None = None
    ) -> UpdateReport:
        return await (await self.current()).apply(batches, on_visible)

    async def refresh(self, shard: str) -> int:
        return await (await self.current()).refresh(shard)

    async def ensure_intact(self, shards: Sequence[str]) -> int:
        return await (await self.current()).ensure_intact(shards)
