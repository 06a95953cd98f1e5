"""The rebalance hand-over: what the worker does when Kafka gives it partitions or takes them.

Assigned: reload the partitions' durability watermarks (another worker may have moved them).
Revoked: under the worker lock, forget what early hydration saw of the partitions taken away
(their next owner consumes those messages again), then flush every dirty interaction of their
sessions to the cold tier and advance their watermarks, so the next owner inherits live sessions
with nothing at risk (``InactivityTracker.hand_over``). Faust awaits both before it moves on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from streams.early_hydration import EarlyHydration
from streams.sessions import PartitionWatermarks
from streams.tracker import InactivityTracker


class RebalanceHandOver:
    def __init__(
        self,
        lock: asyncio.Lock,
        watermarks: PartitionWatermarks,
        early: EarlyHydration,
        tracker: InactivityTracker,
    ) -> None:
        self.lock = lock
        self.watermarks = watermarks
        self.early = early
        self.tracker = tracker

    async def assigned(self) -> None:
        async with self.lock:
            await self.watermarks.load()

    async def revoked(self, partitions: Iterable[int]) -> None:
        """``partitions``: the events topic's partitions taken from this worker."""
        lost = set(partitions)
        if not lost:
            return
        async with self.lock:
            self.early.forget(lost)
            await self.tracker.hand_over(lost)
