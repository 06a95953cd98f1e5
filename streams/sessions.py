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
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from store.cold import gather_all
from store.hot import HotItem, HotStore, HotStoreFull, Hydration
from store.hot_codec import encode
from store.interactions import Interaction
from store.recent_views import HotMember
from store.watermarks import WatermarkStore
from streams.cold_writer import ColdWriter
from streams.dirty_bound import DirtyBound
from streams.early_reads import EarlyReads
from streams.ingest import Accepted
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics

HYDRATION_CONCURRENCY = 16
Writer = Callable[[Sequence[Interaction]], Awaitable[object]]
FlushEarly = Callable[[int, Sequence[str]], Awaitable[object]]
"""Flush these live users of a partition to the cold tier, keeping them live."""
log = logging.getLogger(__name__)


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
        writer: ColdWriter,
        watermarks: PartitionWatermarks,
        metrics: WorkerMetrics,
        *,
        clock_ms: Callable[[], int],
        reads: EarlyReads,
        dirty_bound: DirtyBound | None = None,
        flush_early: FlushEarly | None = None,
    ) -> None:
        self.reads = reads
        self.dirty_bound = dirty_bound
        self.flush_early = flush_early
        self.hot = hot
        self.writer = writer
        self.watermarks = watermarks
        self.metrics = metrics
        self.clock_ms = clock_ms

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
        plan.touch = _not_appended(plan.touch, plan.append)
        if self.dirty_bound is not None:
            self.dirty_bound.reset([*plan.hydrate, *(a.user_id for a in to_cold)])
        return to_cold, plan

    async def apply(self, plan: SessionPlan) -> None:
        """Runs after the batch's cold part is written, so hydration reads it.

        A hot tier out of memory (``HotStoreFull``) does not stop the batch: a hydration that
        fails leaves its user not live (reads go to the cold tier), and interactions that could
        not be appended are written through to the cold tier (some may also be in a session's
        dirty set: the later flush rewrites the same rows). The tracker's evictions free memory.
        """
        direct = self.metrics.cold_write_statements.labels("direct")
        for partition, offset in _lowest_offsets(plan.append).items():
            await self.watermarks.cover(partition, offset)
        try:
            await self.hydrate_all(
                [
                    ToHydrate(user, m.partition, (), m.consumed_s, m.timestamp_ms)
                    for user, m in plan.hydrate.items()
                ]
            )
        except HotStoreFull as exc:
            log.warning("hot tier full: %d hydrations skipped: %s", len(plan.hydrate), exc)
        now_ms = self.clock_ms()
        appending = time.monotonic()
        if plan.append:
            # A session can only vanish under us if its keys expired or the hot tier lost its
            # data: what was not appended goes to the cold tier instead.
            try:
                missed = await self.hot.append(plan.append, now_ms)
            except HotStoreFull as exc:
                log.warning("hot tier full: %d interactions written through", len(plan.append))
                log.debug("append refused: %s", exc)
                self.metrics.write_through.inc(len(plan.append))
                missed = list(plan.append)
            if missed:
                direct.inc(await self.writer.write_until_done([i.interaction for i in missed]))
            self.metrics.absorbed.inc(len(plan.append) - len(missed))
            not_appended = {id(item) for item in missed}
            await self._bound_dirty_sets([i for i in plan.append if id(i) not in not_appended])
            self.metrics.stage_seconds.labels("hot_append").observe(time.monotonic() - appending)
        if plan.touch:
            try:
                await self.hot.touch(plan.touch, now_ms=now_ms)
            except HotStoreFull as exc:
                count = sum(len(users) for users in plan.touch.values())
                log.warning("hot tier full: last-seen of %d users not refreshed: %s", count, exc)

    async def _bound_dirty_sets(self, appended: Sequence[HotItem]) -> None:
        """Flush early the sessions whose dirty sets grew past the bound."""
        if self.dirty_bound is None or self.flush_early is None or not appended:
            return
        for partition, users in self.dirty_bound.appended(appended).items():
            try:
                await self.flush_early(partition, users)
            except HotStoreFull as exc:  # written to cold; marking clean needs memory: later
                log.warning("hot tier full: early flush of %d sessions: %s", len(users), exc)
            self.dirty_bound.reset(users)

    async def hydrate_all(self, wanted: Sequence[ToHydrate]) -> None:
        """For each user, the cold tier's newest members per kind (``reads``) and its ``in_flight``
        interactions into a live session: the user's early read if it is still good
        (``streams.early_reads``: started when early hydration queued the app_open), else a cold
        read now, concurrently; then one hot-tier round trip. Runs under the worker lock, after
        the partitions' recovery. Timed from when the worker consumed each app_open, and from
        the start of this call."""
        if not wanted:
            return
        started = time.monotonic()
        limiter = asyncio.Semaphore(HYDRATION_CONCURRENCY)

        async def members_of(user: str) -> dict[str, list[HotMember]]:
            early = await self.reads.take(user)
            if early is not None:
                return early
            async with limiter:
                return await self.reads.read_now(user)

        per_user = await gather_all([members_of(w.user) for w in wanted])
        read_done = time.monotonic()
        hydrations = []
        for (user, partition, in_flight, *_), members in zip(wanted, per_user, strict=True):
            for interaction in in_flight:
                members[interaction.kind].append((interaction.ts_ms, encode(interaction)))
            hydrations.append(Hydration(user, {}, partition, members))
        await self.hot.hydrate_many(hydrations, now_ms=self.clock_ms())
        done = time.monotonic()
        self.metrics.stage_seconds.labels("hydration_read").observe(read_done - started)
        self.metrics.stage_seconds.labels("hydration_redis_write").observe(done - read_done)
        self.metrics.hydrations.inc(len(wanted))
        for want in wanted:
            since = started if want.consumed_s is None else want.consumed_s
            self.metrics.hydration_seconds.observe(done - since)
            self.metrics.hydration_work_seconds.observe(done - started)
        self.live_at(wanted)

    def live_at(self, wanted: Sequence[ToHydrate]) -> None:
        """The user-facing figure: each app_open's produce time (its Kafka timestamp) to its
        user being live in the hot tier."""
        now_ms = time.time() * 1000
        for item in wanted:
            if item.produced_ms is not None:
                waited_ms = max(0.0, now_ms - item.produced_ms)
                self.metrics.app_open_live_seconds.observe(waited_ms / 1000)


class ToHydrate(NamedTuple):
    user: str
    partition: int
    in_flight: Sequence[Interaction]
    consumed_s: float | None
    """When the worker consumed the user's app_open (``time.monotonic``)."""
    produced_ms: float | None = None
    """The app_open's Kafka timestamp (producer's create time, epoch ms)."""


def _not_appended(touch: dict[int, set[str]], append: Sequence[HotItem]) -> dict[int, set[str]]:
    """The users to touch that get no append in the same batch: an append to a live session
    refreshes its last-seen time and TTLs exactly as a touch does (the same script, at the same
    ``now_ms``), and a session the append finds gone is not live for the touch either."""
    if not touch or not append:
        return touch
    appended = {(item.interaction.user_id, item.partition) for item in append}
    left = {p: {user for user in users if (user, p) not in appended} for p, users in touch.items()}
    return {p: users for p, users in left.items() if users}


def _lowest_offsets(items: Sequence[HotItem]) -> dict[int, int]:
    lowest: dict[int, int] = {}
    for _, partition, offset in items:
        if offset < lowest.get(partition, offset + 1):
            lowest[partition] = offset
    return lowest
