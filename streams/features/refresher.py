"""The refresher: recomputes serving values whose windows slid, so reads see time pass.

A value's ``valid_until_ms`` is when its windows next change without new events; the updater
indexes each entity under that time, per shard. Every ``interval_s`` the refresher recomputes
the due entities of the shards this worker owns (under the shard kind's lock, like batches).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from mode import Service

from features.generation_gate import GatedUpdater
from store.feature_state import FeatureStateUnavailable
from streams.features.metrics import FeatureMetrics

log = logging.getLogger(__name__)


class Refresher(Service):
    def __init__(
        self,
        updater: GatedUpdater,
        owned_shards: Callable[[], list[str]],
        locks: Mapping[str, asyncio.Lock],
        metrics: FeatureMetrics,
        interval_s: float,
    ) -> None:
        """``locks``: per shard kind (its first letter), the lock its batches hold."""
        super().__init__()
        self.updater = updater
        self.owned_shards = owned_shards
        self.locks = locks
        self.metrics = metrics
        self.interval_s = interval_s

    async def tick(self) -> int:
        """One pass over the owned shards; returns how many entities were refreshed. The
        shards of a kind are checked for loss together (one round trip), then refreshed one
        by one (batches of that kind wait for one shard's refresh, not for all)."""
        refreshed = 0
        by_kind: dict[str, list[str]] = {}
        for shard in self.owned_shards():
            by_kind.setdefault(shard[0], []).append(shard)
        for kind, shards in by_kind.items():
            async with self.locks[kind]:
                self.metrics.reloaded.inc(await self.updater.ensure_intact(shards))
            for shard in shards:
                async with self.locks[kind]:
                    refreshed += await self.updater.refresh(shard)
        self.metrics.refreshed.inc(refreshed)
        return refreshed

    @Service.task
    async def _refresh_forever(self) -> None:
        while not self.should_stop:
            try:
                await self.tick()
            except FeatureStateUnavailable as exc:
                log.warning("refresher skipped a tick: %s", exc)  # the next one retries
            await self.sleep(self.interval_s)
