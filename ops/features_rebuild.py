"""``interstore features rebuild``: recompute the feature store from the events topic into a new
generation, then switch readers and the live features worker to it at once.

1. A new generation number ``g`` (never used before) is noted as being built.
2. Build: the replay machinery (own consumer group, batch consume, the workers' intake rules,
   progress, ``--rate``) reads from ``--from`` (default: the earliest offset) to the end offsets
   captured at the start, into generation ``g`` only (``ops.features_sink``). The live worker
   keeps writing the current generation meanwhile.
3. Catch up, unpaused: from those ends to the new ends, again and again, until at most
   ``INTERSTORE_OPS_REBUILD_LAG_TO_PAUSE`` events are left; then the slid windows of ``g`` are
   refreshed.
4. Fence: the rebuild takes the pause (a Redis key with an expiry, renewed meanwhile). A worker
   reads the pause and the current generation together after consuming a batch and before
   applying it, so from now on it waits. The rebuild captures the end offsets ``H`` and catches
   ``g`` up to them: every event that exists is in ``g``.
5. Switch: one script makes ``g`` current and releases the pause, only if the pause is still
   the rebuild's (if it expired, the worker may have applied events ``g`` lacks: back to 4).
   Workers then apply their next batches to ``g``: events below ``H`` are skipped by the
   fences, the others are new, in order. Readers see ``g`` within their cache time.
6. Drop: after the readers' cache time and a margin, the old generation's keys and durable
   partitions are deleted.

With ``groups`` (``--groups``), only those groups' entities are recomputed; the other entities
are carried over from the current generation (``ops.features_rebuild_groups``), which is refused
if a group it would carry has another definition than the current generation's (per-group
fingerprints, recorded at each switch). With ``--from`` too, the recomputed entities get only
the events at or after it; the topic is still read from the earliest offset for the others.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from rich.console import Console

from core.errors import InterstoreError
from core.settings import Settings
from features.updater import REFRESH_PAGE, FeatureUpdater
from ops.features_rebuild_groups import (
    CarriedEntities,
    CarryCounts,
    check_carried,
    rebuilt_entities,
    recomputed_groups,
)
from ops.features_sink import FeatureCounts, FeatureSink
from ops.replay import Replay
from ops.replay_batch import BatchJudge
from ops.replay_plan import TIMEOUT_S, PartitionRange, offsets_at, plan_ranges
from ops.replay_progress import ReplayProgress
from schemas.codec import default_codec
from store.feature_generations import Generation, GenerationControl
from store.tombstones import TombstoneCache

log = logging.getLogger("interstore.rebuild")
SWITCH_ATTEMPTS = 3
DROP_MARGIN_S = 1.0


class RebuildError(InterstoreError):
    """The rebuild could not finish (another rebuild holds the pause, the switch kept failing)."""


@dataclass
class RebuildSummary:
    generation: int
    previous: int
    definitions: str
    events: int = 0
    elapsed_s: float = 0.0
    paused_s: float = 0.0
    switch_attempts: int = 0
    dropped_keys: int = 0
    groups: list[str] = field(default_factory=list)
    """``--groups``: the groups recomputed (empty: all)."""
    from_ms: int | None = None
    """``--from``: the recomputed groups hold no event before it (None: the earliest)."""
    fingerprints_checked: bool = True
    """``--groups``: whether the carried groups were checked against the current generation's
    fingerprints (False: it recorded none)."""
    features: FeatureCounts = field(default_factory=FeatureCounts)
    carried: CarryCounts = field(default_factory=CarryCounts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


OpenConsumer = Callable[[str], Consumer]


class Rebuild:
    """Built by ``ops.features_rebuild_command``; ``target`` writes the new generation."""

    def __init__(
        self,
        settings: Settings,
        updater: FeatureUpdater,
        control: GenerationControl,
        tombstones: TombstoneCache,
        open_consumer: OpenConsumer,
        console: Console,
        *,
        rate: float | None = None,
        groups: list[str] | None = None,
    ) -> None:
        """``groups``: recompute only these groups' entities (``UnknownGroups`` at once for a
        name the definitions do not have); the others are carried over."""
        self.settings = settings
        self.rebuilt = None if groups is None else rebuilt_entities(updater.catalogue, groups)
        self.updater = updater
        self.control = control
        self.tombstones = tombstones
        self.open_consumer = open_consumer
        self.console = console
        self.rate = rate
        self.topic = settings.topics.events
        self.partitions = settings.topics.partitions

    def shards(self) -> list[str]:
        return [f"{side}{p}" for side in "ue" for p in range(self.partitions)]

    async def run(self, start_at: int | str) -> RebuildSummary:
        """``start_at``: epoch ms (``--from``) or "earliest"."""
        started = time.monotonic()
        previous, recorded = await self.control.recorded()
        recomputed, checked = self._check_groups(previous.number, recorded)
        number = await self.control.new_number()
        target = self.updater.for_generation(number)
        summary = RebuildSummary(number, previous.number, target.definitions, groups=recomputed)
        summary.fingerprints_checked = checked
        summary.from_ms = start_at if isinstance(start_at, int) else None
        carried = None
        if self.rebuilt is not None:
            starts = None if summary.from_ms is None else await self._starts(summary.from_ms)
            carried = CarriedEntities(self.rebuilt, starts)
            start_at = "earliest"  # the carried entities continue from their own fences
        select = None if carried is None else carried.only_new
        sink = FeatureSink(target, self.partitions, users_only=False, select=select)
        group = f"{self.settings.ops.replay_group_prefix}-rebuild-{target.prefix}"
        await self.control.begin(number)
        try:
            if carried is not None:
                source = self.updater.for_generation(previous.number)
                await carried.copy(source, target, self.shards())
                summary.carried = carried.counts
            ends = await self._phase("build", sink, group, lambda c: plan_ranges(
                c, [self.topic], start_at=start_at, end_at=None), summary)  # fmt: skip
            while True:  # catch up unpaused while the worker is far ahead
                highs = await asyncio.to_thread(self._highs, list(ends))
                if sum(highs[p] - ends[p] for p in ends) <= self.settings.ops.rebuild_lag_to_pause:
                    break
                ends = await self._catch_up(sink, group, ends, highs, summary)
            await self._refresh(target)
            await self._fence_and_switch(sink, group, ends, target, summary)
        except BaseException:
            await self.control.end(number)
            raise
        await self.control.end(number)
        await asyncio.sleep(self.settings.features.generation_cache_s + DROP_MARGIN_S)
        summary.dropped_keys = await self.control.drop(previous.number)
        await self.updater.for_generation(previous.number).durable.drop(self.shards())
        summary.features = sink.counts
        summary.elapsed_s = time.monotonic() - started
        return summary

    def _check_groups(
        self, previous: int, recorded: dict[str, str] | None
    ) -> tuple[list[str], bool]:
        """``--groups``: the groups recomputed, and whether the carried ones were checked
        unchanged (``ChangedGroups`` if one differs); ``([], True)`` for a full rebuild."""
        if self.rebuilt is None:
            return [], True
        catalogue = self.updater.catalogue
        recomputed = recomputed_groups(catalogue, self.rebuilt)
        checked = check_carried(catalogue, recomputed, recorded)
        if not checked:
            self.console.print(
                f"warning: generation {previous} records no per-group fingerprints: cannot "
                "check that the carried groups' definitions are unchanged", highlight=False
            )  # fmt: skip
        return recomputed, checked

    async def _fence_and_switch(
        self, sink: FeatureSink, group: str, ends: dict[int, int], target: FeatureUpdater,
        summary: RebuildSummary,
    ) -> None:  # fmt: skip
        ttl_ms = int(self.settings.ops.rebuild_pause_ttl_s * 1000)
        for attempt in range(1, SWITCH_ATTEMPTS + 1):
            summary.switch_attempts = attempt
            token = secrets.token_hex(8)
            if not await self.control.pause(token, ttl_ms):
                raise RebuildError("another rebuild holds the features worker's pause")
            paused_at = time.monotonic()
            renewer = asyncio.create_task(self._renew(token, ttl_ms))
            try:
                highs = await asyncio.to_thread(self._highs, list(ends))  # every event there is
                ends = await self._catch_up(sink, group, ends, highs, summary)
                built = Generation(target.generation, target.definitions)
                fingerprints = target.catalogue.fingerprints
                switched = await self.control.switch(token, built, fingerprints)
            finally:
                renewer.cancel()
                summary.paused_s += time.monotonic() - paused_at
            if switched:
                self.console.print(
                    f"switched readers and the features worker to generation "
                    f"{target.generation} (paused {summary.paused_s:.2f}s)", highlight=False
                )  # fmt: skip
                return
            await self.control.unpause(token)
            log.warning("the pause expired before the switch: catching up again")
        raise RebuildError(f"the switch failed {SWITCH_ATTEMPTS} times (the pause kept expiring)")

    async def _renew(self, token: str, ttl_ms: int) -> None:
        while True:
            await asyncio.sleep(ttl_ms / 3000)
            if not await self.control.renew(token, ttl_ms):
                return  # lost: the switch will refuse and the rebuild catch up again

    async def _refresh(self, target: FeatureUpdater) -> None:
        """Recompute the values whose windows slid while the rebuild ran."""
        for shard in self.shards():
            while await target.refresh(shard) >= REFRESH_PAGE:
                pass

    async def _catch_up(
        self, sink: FeatureSink, group: str, ends: dict[int, int], highs: dict[int, int],
        summary: RebuildSummary,
    ) -> dict[int, int]:  # fmt: skip
        def ranges(_: Consumer) -> list[PartitionRange]:
            return [
                PartitionRange(self.topic, p, ends[p], highs[p], ends[p])
                for p in sorted(ends)
                if highs[p] > ends[p]
            ]

        await self._phase("catch-up", sink, group, ranges, summary)
        return {p: max(ends[p], highs[p]) for p in ends}

    async def _phase(
        self, what: str, sink: FeatureSink, group: str,
        plan: Callable[[Consumer], list[PartitionRange]], summary: RebuildSummary,
    ) -> dict[int, int]:  # fmt: skip
        """Read the planned ranges into the new generation; returns the end per partition."""
        consumer = self.open_consumer(group)
        self.console.print(f"rebuild {what}", highlight=False)
        try:
            planned = await asyncio.to_thread(plan, consumer)
            judge = BatchJudge(
                default_codec(), self.settings.retention, self.tombstones,
                dead_letter_topic=self.settings.topics.dead_letters, users=None, cold=False,
                features=True,
            )  # fmt: skip
            replay = Replay(
                self.settings, None, judge, self.tombstones, dead_letters=None, rate=self.rate,
                features=sink,
            )  # fmt: skip
            every = self.settings.ops.replay_progress_s
            with ReplayProgress(planned, self.console, every_s=every) as progress:
                done = await replay.run(consumer, planned, group, progress)
            summary.events += done.offsets
        finally:
            await asyncio.to_thread(consumer.close)
        return {r.partition: r.end for r in planned}

    async def _starts(self, at_ms: int) -> dict[int, int]:
        """Per partition, the first offset at or after ``at_ms`` (offsets-for-times)."""
        wanted = [(self.topic, p) for p in range(self.partitions)]
        consumer = self.open_consumer(f"{self.settings.ops.replay_group_prefix}-rebuild-marks")
        try:
            found = await asyncio.to_thread(offsets_at, consumer, wanted, at_ms)
        finally:
            await asyncio.to_thread(consumer.close)
        return {p: offset for (_, p), offset in found.items()}

    def _highs(self, partitions: list[int]) -> dict[int, int]:
        consumer = self.open_consumer(f"{self.settings.ops.replay_group_prefix}-rebuild-marks")
        try:
            return {
                p: consumer.get_watermark_offsets(TopicPartition(self.topic, p), TIMEOUT_S)[1]
                for p in partitions
            }
        finally:
            consumer.close()
