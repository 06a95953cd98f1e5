"""The features target of a replay or a rebuild: a batch's feature events, routed to their
entities as the live features worker routes them (``features.routing``), applied through the
same ``FeatureUpdater`` (fences, lateness, tombstones), into one generation of the store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.errors import InterstoreError
from features.aggregate import FeatureEvent
from features.routing import entity_batches
from features.updater import EntityBatch, FeatureUpdater, UpdateReport
from store.feature_generations import GenerationControl
from store.feature_state import FeatureStateUnavailable

log = logging.getLogger("interstore.replay")


@dataclass
class FeatureCounts:
    applied: int = 0
    duplicates: int = 0
    late: int = 0
    forgotten: int = 0

    def add(self, report: UpdateReport) -> None:
        self.applied += report.applied
        self.duplicates += report.duplicates
        self.late += report.late
        self.forgotten += report.forgotten


class FeatureTargetError(InterstoreError):
    """The feature store's current generation was built from other definitions."""


class FeatureSink:
    """Into ``updater``'s generation, or with ``control`` into the generation current at the
    first write. ``users_only``: only the user-keyed entities (a replay of some users: applying
    a part of a product's events would move its fences past the others'). ``select``: keeps a
    part of the routed batches (a ``--groups`` rebuild: ``CarriedEntities.only_new``)."""

    def __init__(
        self,
        updater: FeatureUpdater,
        partitions: int,
        *,
        users_only: bool,
        control: GenerationControl | None = None,
        select: Callable[[Sequence[EntityBatch]], list[EntityBatch]] | None = None,
    ) -> None:
        self.updater = updater
        self.select = select
        self.partitions = partitions
        self.users_only = users_only
        self.control = control
        self.counts = FeatureCounts()
        self.generation: int | None = None if control is not None else updater.generation

    async def _resolve(self) -> None:
        assert self.control is not None
        current, _ = await self.control.state()
        if current.definitions and current.definitions != self.updater.definitions:
            raise FeatureTargetError(
                f"the feature store's generation {current.number} holds definitions "
                f"{current.definitions}, this replay has {self.updater.definitions}: use the "
                "same definitions file, or `interstore features rebuild`"
            )
        self.generation = current.number
        self.updater = self.updater.for_generation(current.number)

    async def close(self) -> None:
        if self.control is not None:
            await self.control.client.aclose()

    async def write(self, events: Sequence[FeatureEvent]) -> None:
        """Apply the events, retrying while a store is unavailable (every step is idempotent:
        fences and versioned writes)."""
        if not events:
            return
        if self.generation is None:
            await self._resolve()
        batches = entity_batches(
            self.updater.plans, events, self.partitions, users_only=self.users_only
        )
        if self.select is not None:
            batches = self.select(batches)
        delay = 0.5
        while True:
            try:
                self.counts.add(await self.updater.apply(batches))
                return
            except FeatureStateUnavailable as exc:
                log.warning("feature store unavailable, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
