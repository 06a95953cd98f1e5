"""Live sessions in the worker: which interactions go to the hot tier, and hydration.

Per user, events are handled in consumption order (one topic, keyed by user: a total order).
An app_open of a user who is not live hydrates that user from the cold tier; from then on the
user's interactions go to the hot tier and are marked dirty. Interactions of users who are not
live go to the cold tier, written before any hydration in the same batch so that hydration
sees them.

Durability: before the batch that first puts a partition's interaction into the hot tier is
acked, the partition's watermark (the offset to replay from if the hot tier loses its data) is
saved in the cold tier.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from store.cold import ColdStore, gather_all
from store.hot import HotItem, HotStore, Hydration
from store.interactions import ColdRow, Interaction
from store.watermarks import WatermarkStore
from streams.cold_writer import ColdWriter
from streams.ingest import Accepted
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics

HYDRATION_CONCURRENCY = 16
Writer = Callable[[Sequence[Interaction]], Awaitable[None]]


@dataclass(slots=True)
class SessionPlan:
    hydrate: dict[str, RawMessage] = field(default_factory=dict)  # user -> its app_open
    append: list[HotItem] = field(default_factory=list)
    touch: dict[int, set[str]] = field(default_factory=dict)  # partition -> users


@dataclass(slots=True)
class PartitionWatermarks:
    """What this worker last saved, per partition of the events topic."""

    group: str
    topic: str
    store: WatermarkStore
    saved: dict[int, int | None] = field(default_factory=dict)

    async def load(self) -> None:
        self.saved = dict(await self.store.load(self.group, self.topic))

    async def cover(self, partition: int, offset: int) -> None:
        """Make sure a replay of this partition would start at or before ``offset``."""
        current = self.saved.get(partition)
        if current is None or current > offset:
            await self.store.save(self.group, self.topic, partition, offset)
            self.saved[partition] = offset

    async def advance(self, partition: int, offset: int | None) -> None:
        """After a flush: the partition's lowest hot-only offset now (None: nothing hot-only)."""
        if self.saved.get(partition, None) != offset:
            await self.store.save(self.group, self.topic, partition, offset)
            self.saved[partition] = offset


class SessionRouter:
    def __init__(
        self,
        hot: HotStore,
        cold: ColdStore,
        writer: ColdWriter,
        watermarks: PartitionWatermarks,
        metrics: WorkerMetrics,
        *,
        last_n: int,
        clock_ms: Callable[[], int],
    ) -> None:
        self.hot = hot
        self.cold = cold
        self.writer = writer
        self.watermarks = watermarks
        self.metrics = metrics
        self.last_n = last_n
        self.clock_ms = clock_ms
        self._statements_at_split = 0

    async def split(self, accepted: Sequence[Accepted]) -> tuple[list[Accepted], SessionPlan]:
        live = await self.hot.live_users(list({a.user_id for a in accepted}))
        plan = SessionPlan()
        to_cold: list[Accepted] = []
        for item in accepted:
            user = item.user_id
            partition = item.message.partition
            if item.interaction is None:  # app_open
                if user in live:
                    plan.touch.setdefault(partition, set()).add(user)
                else:
                    plan.hydrate[user] = item.message
                    live.add(user)
            elif user in live:
                plan.append.append(HotItem(item.interaction, partition, item.message.offset))
            else:
                to_cold.append(item)
        self._statements_at_split = self.writer.statements_sent()
        return to_cold, plan

    async def apply(self, plan: SessionPlan) -> None:
        """Runs after the batch's cold part is written, so hydration reads it."""
        direct = self.metrics.cold_write_statements.labels("direct")
        direct.inc(self.writer.statements_sent() - self._statements_at_split)
        for partition, offset in _lowest_offsets(plan.append).items():
            await self.watermarks.cover(partition, offset)
        await self.hydrate_all(
            [ToHydrate(user, m.partition, (), m.consumed_s) for user, m in plan.hydrate.items()]
        )
        now_ms = self.clock_ms()
        if plan.append:
            # A session can only vanish under us if its keys expired or the hot tier lost its
            # data: what was not appended goes to the cold tier instead.
            missed = await self.hot.append(plan.append, now_ms)
            if missed:
                before = self.writer.statements_sent()
                await self.writer.write_until_done([item.interaction for item in missed])
                direct.inc(self.writer.statements_sent() - before)
            self.metrics.absorbed.inc(len(plan.append) - len(missed))
        for partition, users in plan.touch.items():
            await self.hot.touch(users, partition=partition, now_ms=now_ms)

    async def hydrate_all(self, wanted: Sequence[ToHydrate]) -> None:
        """For each user, the cold tier's newest ``last_n`` per kind and its ``in_flight``
        interactions into a live session: the cold reads concurrently, then one hot-tier round
        trip. Timed from when the worker consumed each app_open, and from the reads' start."""
        if not wanted:
            return
        started = time.monotonic()
        limiter = asyncio.Semaphore(HYDRATION_CONCURRENCY)

        async def read(user: str) -> dict[str, list[ColdRow]]:
            async with limiter:
                return await self.cold.hydration_rows(user, limit=self.last_n)

        per_user = await gather_all([read(w.user) for w in wanted])
        hydrations = []
        for (user, partition, in_flight, _), rows in zip(wanted, per_user, strict=True):
            for item in in_flight:
                rows[item.kind].append(item.row())
            hydrations.append(Hydration(user, rows, partition))
        await self.hot.hydrate_many(hydrations, now_ms=self.clock_ms())
        done = time.monotonic()
        self.metrics.hydrations.inc(len(wanted))
        for *_, consumed_s in wanted:
            since = started if consumed_s is None else consumed_s
            self.metrics.hydration_seconds.observe(done - since)
            self.metrics.hydration_work_seconds.observe(done - started)


class ToHydrate(NamedTuple):
    user: str
    partition: int
    in_flight: Sequence[Interaction]
    consumed_s: float | None
    """When the worker consumed the user's app_open (``time.monotonic``)."""


def _lowest_offsets(items: Sequence[HotItem]) -> dict[int, int]:
    lowest: dict[int, int] = {}
    for _, partition, offset in items:
        if offset < lowest.get(partition, offset + 1):
            lowest[partition] = offset
    return lowest
