"""Early hydration: an app_open's hydration starts when the worker consumes it, not with its batch.

The agent handles messages in batches (up to ``BATCH_MAX``, or what came within
``BATCH_WITHIN_S``): an app_open handled with its batch waits for the batch window to close,
then for the batch's cold writes, then for the other hydrations of the batch. Instead, ``seen``
(a processor on the agent's stream) sees every message when Faust hands it to the agent, and
queues a valid app_open and starts reading the user's cold members at once, outside the worker
lock (``streams.early_reads``: why that read is complete, and when it is read again). A runner
task waits until a queued user's read is done, then takes the worker's batch lock (so it never
runs during a batch, a tracker tick, a rebalance hand-over or a hot-tier recovery) and, for every
app_open queued by then whose read is done, together (as a batch hydrates its app_opens):

1. makes sure the partition's hot data is intact (the recovery every batch runs first);
2. leaves a live user alone (the app_open's batch refreshes its last-seen time);
3. hydrates the user from the cold tier's newest N per kind (the early read, or a read now if a
   cold write of the user finished since it started) plus the user's interactions consumed
   before the app_open and not handled yet, which are in neither tier.

Every batch before the app_open's is done by then (it held the lock), so the cold tier holds
the user's earlier interactions and step 3 adds those still in flight: the view is complete as
of the app_open. The app_open's batch then finds the user live, as for any live user: the
app_open refreshes last-seen and the user's interactions of the batch, before and after the
app_open, go to the session (dirty, covered by the partition's watermark, flushed later); those
step 3 put in the view are the same members, so nothing is doubled. An early hydration that
fails leaves nothing a batch relies on: the batch finds the user not live and hydrates it
itself, with its retries.

Messages are matched to the app_open's user by their Kafka key: the user id, which
``EventProducer`` sends and the topic's per-user order relies on.

A fair share of the lock: a round is bounded by the members it writes to the hot tier as well
as by app_opens (``streams.early_rounds``). The lock is first come, first served
(``asyncio.Lock``: an acquire queues behind waiters), so a batch step waiting for it runs after
the round holding it and before the next: it waits for one bounded round, and rounds run back
to back while the lock is free (a batch's cold write).

A pending message is decoded and validated at most once: its batch takes what early hydration
checked (``checked``; ``streams.pending_messages``).

When the worker is behind (``behind``; counted as outcome ``behind``), the app_open is still
hydrated as the stream hands it over, about one batch ahead of the agent (a round takes the lock
after the running batch's route or finish step, or during its cold write), and the view is
complete because the stream hands messages over in offset order. App_opens deeper in a backlog
come from the look-ahead (``streams.lookahead``, ``ahead``; outcome ``ahead``) with the user's
messages it read before them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from schemas.errors import SchemaError
from store.errors import StoreError
from store.interactions import Interaction
from streams.early_reads import EarlyReads
from streams.early_rounds import ROUND_MEMBERS_MAX, take_round
from streams.ingest import Accepted, IngestPipeline
from streams.messages import Consumed, RawMessage, raw
from streams.pending_messages import PendingMessages
from streams.sessions import SessionRouter, ToHydrate

log = logging.getLogger(__name__)
EnsureIntact = Callable[[Iterable[int]], Awaitable[None]]


class EarlyHydration:
    def __init__(
        self,
        pipeline: IngestPipeline,
        router: SessionRouter,
        ensure_intact: EnsureIntact,
        lock: asyncio.Lock,
        *,
        behind: Callable[[RawMessage], bool] = lambda _: False,
        round_members: int = ROUND_MEMBERS_MAX,
    ) -> None:
        self.round_members = round_members
        self.reads: EarlyReads = router.reads
        self.behind = behind
        self.pipeline = pipeline
        self.router = router
        self.ensure_intact = ensure_intact
        self.lock = lock
        self._pending = PendingMessages(pipeline)
        """Messages seen and not handled yet, each checked at most once."""
        self._seen_upto: dict[int, int] = {}
        """The highest offset the stream handed over, per partition (since it was assigned), or
        the one before where it starts."""
        self._ahead: set[tuple[int, int]] = set()
        """App_opens queued by the look-ahead, not seen by the stream yet."""
        self.reading_ahead = False
        """Whether the look-ahead reads a partition now (set by ``streams.lookahead``)."""
        self._queued: dict[str, Queued] = {}
        self._running: dict[str, Queued] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner: asyncio.Task[None] | None = None
        outcomes = router.metrics.early_hydrations
        names = ("hydrated", "live", "failed", "behind", "ahead")
        self._outcome = {name: outcomes.labels(name) for name in names}

    def seen(self, message: Consumed) -> None:
        """A message the agent was handed (a Faust message or a RawMessage): kept until its
        batch is handled; an app_open is queued for hydration."""
        where = (message.partition, message.offset)
        self._pending.add(message)
        if message.offset > self._seen_upto.get(message.partition, -1):
            self._seen_upto[message.partition] = message.offset
        if where in self._ahead:
            self._ahead.discard(where)
            return  # queued by the look-ahead already: its batch finds the user live
        user = self._wanted_user(message, pending=True)
        if user is None:
            return
        app_open = raw(message)
        if self.behind(app_open):
            self._outcome["behind"].inc()
        self._queue(user, Queued(app_open, self._pending.interactions_before(message)))

    def unhandled(self) -> list[tuple[int, int]]:
        """(partition, offset) of every message seen and not handled yet, sorted."""
        return self._pending.offsets()

    def seen_upto(self, partition: int) -> int | None:
        """The highest offset of ``partition`` the stream has handed over, or the one before
        where it starts (``starts``); None: not known."""
        return self._seen_upto.get(partition)

    def starts(self, offsets: Mapping[int, int]) -> None:
        """At an assignment, before its messages are seen: the offset the stream hands each
        partition over from (its committed offset). The look-ahead can then read a partition
        the stream has not reached yet: a consumer serves a backlog partition after partition."""
        for partition, offset in offsets.items():
            self._seen_upto.setdefault(partition, offset - 1)

    def ahead(self, app_open: RawMessage, between: Sequence[RawMessage]) -> bool:
        """An app_open the look-ahead read past the stream's position: queued for hydration
        (True) if the stream has not seen it yet and its user is not on its way already.

        ``between`` must hold every message of the app_open's partition the look-ahead read
        after ``seen_upto`` and before the app_open (those of other keys are skipped): with the
        messages seen and not handled (``_pending``), they are all of the user's messages that
        are in no tier yet, so the view is complete as of the app_open."""
        upto = self._seen_upto.get(app_open.partition)
        if upto is None or app_open.offset <= upto:
            return False  # the stream has it (or has not started on the partition)
        if (app_open.partition, app_open.offset) in self._ahead:
            return False  # queued by an earlier pass of the look-ahead (it starts over)
        user = self._wanted_user(app_open)
        if user is None:
            return False
        later = [m for m in between if upto < m.offset < app_open.offset]
        self._ahead.add((app_open.partition, app_open.offset))
        self._outcome["ahead"].inc()
        self._queue(user, Queued(app_open, self._pending.interactions_before(app_open, later)))
        return True

    def checked(self, message: RawMessage) -> Accepted | None:
        """The message's checked form if early hydration checked it (valid) while it was
        pending: its batch need not check it again. None: not checked, or not valid."""
        return self._pending.checked(message)

    def _wanted_user(self, message: Consumed, *, pending: bool = False) -> str | None:
        """The user of a valid app_open to hydrate early, None for anything else."""
        if not message.value or message.key is None:
            return None  # a tombstone, an empty value or no key: its batch dead-letters it
        if self.pipeline.codec.kind_of(message.value) != "app_open":
            return None
        try:
            accepted = self._pending.check(message, self.pipeline.clock_ms(), keep=pending)
        except SchemaError:
            return None  # its batch dead-letters it
        if self.pipeline.forgotten_quietly(accepted):
            return None  # its batch skips it
        user = accepted.user_id
        if user in self._queued or user in self._running or user.encode() != message.key:
            return None  # already on its way; a key that is not the user id is left to the batch
        return user

    def _queue(self, user: str, queued: Queued) -> None:
        self._queued[user] = queued
        self.reads.start(user)
        self._idle.clear()
        self._wake.set()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="early-hydration")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await self.reads.any_done(self._queued)  # the lock is held only for hot writes
            stage = self.router.metrics.stage_seconds
            waiting = time.monotonic()
            async with self.lock:
                holding = time.monotonic()
                stage.labels("lock_wait").observe(holding - waiting)
                self._wake.clear()
                self._running = self._take_round()
                try:
                    if self._running:
                        await self._hydrate_all(self._running)
                        stage.labels("round").observe(time.monotonic() - holding)
                finally:
                    self._running = {}
                    if not self._queued:
                        self._idle.set()

    def _take_round(self) -> dict[str, Queued]:
        """Queued app_opens whose reads are done, as many as a round takes
        (``streams.early_rounds``); the rest wait. A user without a read is read under the
        lock: a round's worth."""
        sizes = self.reads.size
        ready = (
            (user, self.round_members if (n := sizes(user)) is None else n + len(in_flight))
            for user, (_, in_flight) in self._queued.items()
            if self.reads.done(user)
        )
        users = take_round(ready, self.round_members)
        taken = {user: self._queued.pop(user) for user in users}
        if self._queued:
            self._wake.set()  # another round follows
        return taken

    async def _hydrate_all(self, taken: dict[str, Queued]) -> None:
        queued = await self._not_forgotten(taken)
        try:
            await self.ensure_intact({app_open.partition for app_open, _ in queued.values()})
            live = await self.router.hot.live_users(list(queued))
            wanted = [
                ToHydrate(
                    user, app_open.partition, in_flight, app_open.consumed_s, app_open.timestamp_ms
                )
                for user, (app_open, in_flight) in queued.items()
                if user not in live
            ]
            await self.router.hydrate_all(wanted)  # takes the early reads still good
        except StoreError as exc:
            self._failed(len(queued), exc)
            return
        finally:
            for user in taken:
                self.reads.drop(user)  # forgotten, live, or failed: not hydrated from its read
        self._outcome["live"].inc(len(live))
        self._outcome["hydrated"].inc(len(wanted))

    async def _not_forgotten(self, queued: dict[str, Queued]) -> dict[str, Queued]:
        """Without forgotten users' events older than their tombstones (their batch skips them)."""
        tombstones = self.pipeline.tombstones
        await tombstones.refresh_if_due()
        now_ms = self.pipeline.clock_ms()
        return {
            user: Queued(
                app_open, [i for i in in_flight if not tombstones.is_forgotten(user, i.ts_ms)]
            )
            for user, (app_open, in_flight) in queued.items()
            if not self.pipeline.forgotten_quietly(
                self.checked(app_open) or self.pipeline.check(app_open, now_ms)
            )
        }

    def _failed(self, count: int, exc: StoreError) -> None:
        self._outcome["failed"].inc(count)
        log.warning("early hydration of %d users failed (their batch hydrates): %s", count, exc)

    def handled(self, messages: Sequence[RawMessage]) -> None:
        """After a batch is done: its messages are in a tier now (or dead-lettered)."""
        self._pending.handled(messages)

    def forget(self, partitions: Iterable[int]) -> None:
        """On a rebalance, holding the batch lock, for the partitions taken away: drop what was
        seen of them (the next owner consumes their app_opens again)."""
        lost = set(partitions)
        self._pending.forget(lost)
        self._ahead = {key for key in self._ahead if key[0] not in lost}
        for partition in lost:
            self._seen_upto.pop(partition, None)
        for user in [u for u, (app_open, _) in self._queued.items() if app_open.partition in lost]:
            del self._queued[user]
            self.reads.drop(user)
        if not self._queued and not self._running:
            self._idle.set()

    async def wait(self) -> None:
        """Until every app_open queued is done."""
        await self._idle.wait()

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        await self.reads.close()


class Queued(NamedTuple):
    app_open: RawMessage
    in_flight: list[Interaction]
