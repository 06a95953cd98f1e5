"""The events topic in batches through confluent-kafka: the worker's consumer (``consumer=batch``).

Faust hands an agent one record at a time (aiokafka's records, Faust's message, conductor,
channel queue and stream, with several tasks per record); on this box that path alone costs
more CPU per event than everything the worker does with the event (DESIGN §15). This consumer
takes what librdkafka fetched in its own threads (``streams.kafka_fetch``: without waiting for
a full batch) and hands the worker whole batches, in the same protocol the Faust agent follows:

- **Seen, then handled.** A fetch task calls ``consume`` on a thread of its own and passes each
  message to ``seen`` (early hydration) as soon as it is fetched, then buffers it; a batch task
  takes up to ``batch_max`` buffered messages (or what came within ``batch_within_s`` of the
  first) and runs them (``run_batch``, i.e. ``BatchRunner.run``), one batch at a time. Past
  ``buffer_max`` buffered messages the fetch task waits for room (``streams.fetch_buffer``),
  then pauses the partitions (``consume`` still runs: the group and its callbacks stay served).
  Revoked partitions are resumed before they go: librdkafka keeps an application's pause
  across an eager reassignment, and a new assignment starts unpaused here.
- **Acked, then committed.** ``run_batch`` acks a batch once it is safe; the acked offsets are
  committed every ``commit_interval_s`` and when partitions are revoked. Offsets are never
  committed past an event that is not safe; nothing else is (``enable.auto.commit`` off).
- **Rebalances** (eager, as Faust's): librdkafka calls back on the fetch thread, inside
  ``consume``; the callbacks run the hand-over on the event loop and wait for it. Revoked: the
  batch in flight finishes first, the buffered messages of the lost partitions are dropped (the
  next owner reads them again from the commit), ``settle`` (if given) acks what the worker held
  back, ``revoked`` runs (flushes their sessions), and the acked offsets are committed before
  the partitions go. Assigned: ``starts`` learns where each partition is consumed from, and
  ``assigned`` runs (reloads the durability watermarks), before any message of the new
  assignment is handed over.
- **One thread calls librdkafka** (``streams.consumer_thread``): fetches, pauses, commits and
  the partitions' ends (``highwater``: noted at each fetch) go through it; the event loop never
  calls the handle.
- **Stop**: no new batch, the one in flight finishes, offsets are committed, and the consumer
  closes (which revokes every partition through the same hand-over). A batch that raises fails
  the consumer (``failed``): nothing of it is acked, and the worker exits so that the next start
  resumes from the last commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from streams.batch_handlers import BatchHandlers
from streams.consumer_thread import ConsumerThread, rebalance_logged
from streams.fetch_buffer import PAUSE_AFTER_S, FetchBuffer
from streams.messages import RawMessage, fills_next_batch
from streams.partition_offsets import PartitionOffsets

log = logging.getLogger(__name__)
BATCH_POLL_S = 0.005
"""How often the batch task looks again while a batch fills within its window."""


class BatchConsumer:
    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        *,
        batch_max: int,
        batch_within_s: float,
        commit_interval_s: float,
        buffer_max: int,
        pause_after_s: float = PAUSE_AFTER_S,
        make_consumer: Callable[[dict[str, Any]], Consumer] = Consumer,
    ) -> None:
        """``config``: confluent-kafka's consumer configuration (group, servers, fetch sizes);
        ``make_consumer`` builds the consumer from it at start."""
        self.make_consumer = make_consumer
        self.config = {**config, "enable.auto.commit": False, "on_commit": self._on_commit}
        self.topic = topic
        self.batch_max = batch_max
        self.batch_within_s = batch_within_s
        self.commit_interval_s = commit_interval_s
        self.rebalancing = True
        """True until the first assignment, and from a revocation to the next assignment."""
        self.failed: BaseException | None = None
        self.done = asyncio.Event()
        """Set once the consumer stopped consuming (stopped, or a batch failed)."""
        self._owned: set[int] = set()
        self._buffer = FetchBuffer(buffer_max, pause_after_s)
        self._offsets = PartitionOffsets(topic)
        self._in_flight = asyncio.Lock()
        self._stopping = False
        self._consumer: Consumer | None = None
        self._thread = ConsumerThread(topic)
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: BatchHandlers | None = None

    def owned(self) -> set[int]:
        """The topic's partitions assigned to this consumer now."""
        return set(self._owned)

    def highwater(self, partition: int) -> int | None:
        """The partition's end as last fetched (None: not known yet)."""
        return self._thread.end(partition)

    async def backlog(self) -> dict[int, int]:
        """Per partition held, the messages not yet in a batch (buffered, fetched by librdkafka
        or not fetched yet): the high watermark minus the next offset to batch (the committed
        offset for a partition nothing was fetched of yet). Asks the broker what is not known."""
        if self._consumer is None:
            return {}
        backlog: dict[int, int] = await asyncio.to_thread(
            self._offsets.backlog, self._consumer, sorted(self._owned), self.highwater
        )  # not on the consumer's thread: it may be in ``consume``
        return backlog

    def behind(self, message: RawMessage) -> bool:
        """Whether the message's partition's backlog alone would fill the next batch."""
        return fills_next_batch(
            self.highwater(message.partition), message.offset, self.batch_max, len(self._owned)
        )

    async def start(self, handlers: BatchHandlers) -> None:
        self._handlers = handlers
        self._thread.bind(asyncio.get_running_loop())
        consumer = self.make_consumer(self.config)
        consumer.subscribe(
            [self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )  # fmt: skip
        self._consumer = consumer
        self._tasks = [
            asyncio.create_task(self._fetching(), name="events-fetch"),
            asyncio.create_task(self._batching(), name="events-batches"),
            asyncio.create_task(self._committing(), name="events-commits"),
        ]

    async def stop(self) -> None:
        """Finish the batch in flight, commit, close (revoking every partition)."""
        self._stopping = True
        self._buffer.close()
        fetching, batching, committing = self._tasks
        committing.cancel()
        await asyncio.gather(fetching, batching, committing, return_exceptions=True)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await self._thread.run(self._commit, consumer)
            await self._thread.run(consumer.close)  # calls back _on_revoke: the hand-over
        self._thread.shutdown()
        self.done.set()

    # -- the event loop's side ------------------------------------------------------------------

    async def _fetching(self) -> None:
        assert self._consumer is not None
        assert self._handlers is not None
        consumer, seen = self._consumer, self._handlers.seen
        while not self._stopping:
            full = await self._buffer.still_full()
            messages = await self._thread.run(self._fetch, consumer, full)
            now = time.monotonic()
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.fatal():  # the consumer cannot go on: stop, as a failed batch does
                        log.critical("the events consumer failed, stopping the worker: %s", error)
                        self._fail(KafkaException(error))
                        return
                    log.warning("events consumer: %s", error)
                    continue
                raw = RawMessage(
                    self.topic, message.partition(), message.offset(), message.key(),
                    message.value() or b"", now, float(message.timestamp()[1]),
                )  # fmt: skip
                if raw.partition in self._owned:
                    seen(raw)
                    self._buffer.append(raw)
                    self._offsets.fetched(raw)

    async def _batching(self) -> None:
        assert self._handlers is not None
        run_batch = self._handlers.run_batch
        while not self._stopping:
            if not self._buffer:
                await asyncio.sleep(BATCH_POLL_S)
                continue
            closes = (self._buffer.first().consumed_s or 0.0) + self.batch_within_s
            if len(self._buffer) < self.batch_max and time.monotonic() < closes:
                await asyncio.sleep(BATCH_POLL_S)
                continue
            async with self._in_flight:
                batch = self._buffer.take(self.batch_max)
                if not batch:
                    continue  # a revocation dropped them
                self._offsets.batched(batch)
                try:
                    await run_batch(batch, lambda batch=batch: self._ack(batch))  # type: ignore[misc]
                except Exception as exc:  # noqa: BLE001 - any failure stops the worker
                    log.critical("a batch failed, stopping the worker: %r", exc)
                    self._fail(exc)
                    return

    def _fail(self, exc: BaseException) -> None:
        """Nothing more is consumed; the host stops the worker (exit status 1)."""
        self.failed = exc
        self._stopping = True
        self.done.set()

    async def _ack(self, batch: Sequence[RawMessage]) -> None:
        self._offsets.ack(batch)

    async def _committing(self) -> None:
        while True:
            await asyncio.sleep(self.commit_interval_s)
            consumer = self._consumer
            offsets = self._offsets.to_commit(self._owned)
            if consumer is not None and offsets:
                await self._thread.run(self._commit, consumer, offsets, True)

    async def _assign(self, partitions: set[int], starts: dict[int, int]) -> None:
        self._owned = partitions
        self._offsets.assigned()
        self._thread.assigned()
        try:
            assert self._handlers is not None
            if self._handlers.starts is not None:
                self._handlers.starts(starts)
            await self._handlers.assigned()
        finally:
            self.rebalancing = False

    async def _revoke(self, partitions: set[int]) -> list[TopicPartition]:
        """The hand-over; returns the acked offsets still to commit (the caller commits them
        on the consumer's thread before the partitions go)."""
        self.rebalancing = True
        async with self._in_flight:  # the batch in flight finishes and acks first
            assert self._handlers is not None
            if self._handlers.settle is not None:
                try:
                    await self._handlers.settle()
                except Exception:  # what it did not ack is read again by the next owner
                    log.exception("settling the held acks of partitions %s failed", partitions)
            self._buffer.drop(partitions)
            offsets = self._offsets.to_commit(self._owned)
            self._owned -= partitions
            self._offsets.revoked(partitions)
            try:
                await self._handlers.revoked(partitions)
            except Exception:  # the partitions go anyway; their watermarks protect the data
                log.exception("the hand-over of partitions %s failed", sorted(partitions))
            return offsets

    # -- the consumer's thread: every call into librdkafka, and its callbacks ------------------

    def _fetch(self, consumer: Consumer, full: bool) -> list[Message]:
        return self._thread.fetch(consumer, self._owned, full=full, most=self.batch_max)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with rebalance_logged("assigned", partitions):
            owned = {tp.partition for tp in partitions}
            self._thread.wait_for(self._assign(owned, self._starts(consumer, owned)))

    def _starts(self, consumer: Consumer, partitions: set[int]) -> dict[int, int]:
        """Where the partitions are consumed from ({}: the broker did not say, or no one asks).
        Here, in the callback: a call into the handle from another thread waits for it."""
        if self._handlers is None or self._handlers.starts is None:
            return {}
        try:
            return self._offsets.starts(consumer, sorted(partitions))
        except KafkaException as exc:
            log.warning("where partitions %s start is not known: %s", sorted(partitions), exc)
            return {}

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with rebalance_logged("revoked", partitions):
            offsets = self._thread.wait_for(self._revoke({tp.partition for tp in partitions}))
            self._commit(consumer, offsets)
            consumer.resume(partitions)  # librdkafka would keep a pause into the next assignment

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Gone without a hand-over: nothing to commit."""
        with rebalance_logged("lost", partitions):
            self._thread.wait_for(self._revoke({tp.partition for tp in partitions}))
            consumer.resume(partitions)

    def _commit(
        self,
        consumer: Consumer,
        offsets: list[TopicPartition] | None = None,
        asynchronous: bool = False,
    ) -> None:
        """On the consumer's thread: commit ``offsets`` (default: the acked ones of the owned
        partitions); a commit the client refuses is logged, and its offsets are sent again."""
        offsets = self._offsets.to_commit(self._owned) if offsets is None else offsets
        if not offsets:
            return
        try:
            if asynchronous:  # (the client's two signatures)
                consumer.commit(offsets=offsets, asynchronous=True)
            else:
                consumer.commit(offsets=offsets, asynchronous=False)
            self._offsets.commit_sent(offsets)
        except KafkaException as exc:
            log.warning("committing %s failed: %s", offsets, exc)

    def _on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if error is not None:
            log.warning("an offset commit failed: %s", error)
            self._offsets.commit_failed()
