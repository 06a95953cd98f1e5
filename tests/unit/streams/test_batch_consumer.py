"""``BatchConsumer``'s protocol on a scripted stand-in for confluent-kafka's consumer: batches in
order, acks committed, and a revocation that waits for the batch in flight, drops the lost
partitions' buffered messages and commits what was acked before the partitions go."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from confluent_kafka import TopicPartition

from streams.batch_consumer import BatchConsumer
from streams.batch_handlers import Ack, BatchHandlers
from streams.messages import RawMessage, fills_next_batch

TOPIC = "events"


class FatalError:
    def fatal(self) -> bool:
        return True


class Record:
    def __init__(self, partition: int, offset: int, error: FatalError | None = None) -> None:
        self._partition, self._offset, self._error = partition, offset, error

    def error(self) -> FatalError | None:
        return self._error

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"u"

    def value(self) -> bytes:
        return b"v"

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_000)


class ScriptedConsumer:
    """Each ``consume`` call that may wait plays the next step: records, a pause (seconds) or a
    rebalance; one that may not (timeout 0) finds nothing more fetched. So each fetch
    (``consume_available``) plays exactly one step.

    As seen of librdkafka on a stalled worker (its loop blocked in ``get_watermark_offsets``
    while a revocation callback waited for the loop), a call into the handle from another
    thread while a rebalance callback runs waits for the callback: here for up to a second,
    then it is counted in ``blocked`` (the real one waited until the group gave up on it)."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.commits: list[list[tuple[int, int]]] = []
        self.callbacks: dict[str, Callable[..., None]] = {}
        self.closed = False
        self.paused: set[int] = set()
        """Paused partitions: as in librdkafka, a pause outlives a revocation and reassignment."""
        self.pauses = 0
        self.blocked = 0
        self._in_callback = threading.RLock()

    def _enter(self) -> None:
        if not self._in_callback.acquire(timeout=1.0):
            self.blocked += 1
            return
        self._in_callback.release()

    def subscribe(self, topics: list[str], **callbacks: Callable[..., None]) -> None:
        self.callbacks = callbacks

    def consume(self, num_messages: int, timeout: float) -> list[Record]:
        if not self.steps or timeout == 0:
            return []
        step = self.steps.pop(0)
        if isinstance(step, float):  # a pause (consume runs on the consumer's thread)
            time.sleep(step)
            return []
        if isinstance(step, tuple):  # ("assign" | "revoke", partitions)
            name, partitions = step
            with self._in_callback:
                self.callbacks[f"on_{name}"](self, [TopicPartition(TOPIC, p) for p in partitions])
            return []
        return list(step)

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self._enter()
        self.commits.append(sorted((tp.partition, tp.offset) for tp in offsets))

    def close(self) -> None:
        self.closed = True

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool) -> tuple[int, int]:
        self._enter()
        return (0, 100)

    def pause(self, partitions: list[TopicPartition]) -> None:
        self._enter()
        self.pauses += 1
        self.paused |= {tp.partition for tp in partitions}

    def resume(self, partitions: list[TopicPartition]) -> None:
        self._enter()
        self.paused -= {tp.partition for tp in partitions}


class Journal:
    """What the handlers saw, in order."""

    def __init__(self, batch_s: float = 0.0) -> None:
        self.entries: list[Any] = []
        self.batch_s = batch_s

    def handlers(self) -> BatchHandlers:
        return BatchHandlers(self.seen, self.run_batch, self.assigned, self.revoked)

    def seen(self, message: RawMessage) -> None:
        self.entries.append(("seen", message.partition, message.offset))

    async def run_batch(self, messages: Sequence[RawMessage], ack: Ack) -> None:
        self.entries.append(("batch", [(m.partition, m.offset) for m in messages]))
        await asyncio.sleep(self.batch_s)
        await ack()
        self.entries.append(("acked", len(messages)))

    async def assigned(self) -> None:
        self.entries.append(("assigned",))

    async def revoked(self, partitions: Iterable[int]) -> None:
        self.entries.append(("revoked", sorted(partitions)))


def consumer_for(scripted: ScriptedConsumer, batch_max: int = 10) -> BatchConsumer:
    return BatchConsumer(
        {}, TOPIC, batch_max=batch_max, batch_within_s=0.01, commit_interval_s=0.05,
        buffer_max=100, make_consumer=lambda config: scripted,  # type: ignore[arg-type,return-value]
    )  # fmt: skip


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_batches_run_in_order_and_their_acks_are_committed() -> None:
    records = [Record(0, o) for o in range(25)]
    scripted = ScriptedConsumer([("assign", [0]), records])
    journal = Journal()
    consumer = consumer_for(scripted)
    await consumer.start(journal.handlers())
    await until(lambda: sum(e[1] for e in journal.entries if e[0] == "acked") == 25)
    await until(lambda: [(0, 25)] in scripted.commits)
    await consumer.stop()
    batches = [e[1] for e in journal.entries if e[0] == "batch"]
    assert [offset for batch in batches for _, offset in batch] == list(range(25))
    assert max(len(b) for b in batches) <= 10
    assert journal.entries[0] == ("assigned",)
    assert scripted.closed


async def test_a_revocation_waits_for_the_batch_in_flight_and_drops_the_lost_buffer() -> None:
    first = [Record(0, o) for o in range(10)] + [Record(1, o) for o in range(10)]
    scripted = ScriptedConsumer([("assign", [0, 1]), first, 0.1, ("revoke", [0, 1])])
    journal = Journal(batch_s=0.3)  # the revocation arrives while the first batch runs
    consumer = consumer_for(scripted)
    await consumer.start(journal.handlers())
    await until(lambda: ("revoked", [0, 1]) in journal.entries)
    await consumer.stop()
    names = [e[0] for e in journal.entries if e[0] != "seen"]
    assert names == ["assigned", "batch", "acked", "revoked"]  # the second batch never ran
    assert scripted.commits[0] == [(0, 10)]  # committed before the partitions went
    assert consumer.owned() == set()


async def test_partitions_paused_when_revoked_are_not_paused_when_assigned_again() -> None:
    """A full buffer pauses the partitions; a revocation comes meanwhile and one partition comes
    back. The new assignment starts unpaused, so the partition must not still be paused."""
    backlog = [Record(0, o) for o in range(30)]
    steps = [("assign", [0, 1]), backlog, 0.1, ("revoke", [0, 1]), ("assign", [0])]
    scripted = ScriptedConsumer(steps)
    journal = Journal(batch_s=0.3)  # the buffer stays full until the revocation
    consumer = BatchConsumer(
        {}, TOPIC, batch_max=10, batch_within_s=0.01, commit_interval_s=0.05, buffer_max=20,
        pause_after_s=0.1, make_consumer=lambda config: scripted,  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    await consumer.start(journal.handlers())
    await until(lambda: scripted.paused == {0, 1})
    await until(lambda: journal.entries.count(("assigned",)) == 2)
    await consumer.stop()
    assert consumer.owned() == {0}
    assert scripted.paused == set()


async def test_a_full_buffer_that_a_batch_drains_in_time_is_not_paused() -> None:
    """A pause drops what librdkafka prefetched (fetched again on resume): a buffer that the
    batches make room in within ``pause_after_s`` is waited for, not paused."""
    backlog = [[Record(0, o) for o in range(start, start + 30)] for start in (0, 30, 60)]
    scripted = ScriptedConsumer([("assign", [0]), *backlog])
    journal = Journal(batch_s=0.05)
    consumer = BatchConsumer(
        {}, TOPIC, batch_max=10, batch_within_s=0.01, commit_interval_s=0.05, buffer_max=20,
        pause_after_s=1.0, make_consumer=lambda config: scripted,  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    await consumer.start(journal.handlers())
    await until(lambda: sum(e[1] for e in journal.entries if e[0] == "acked") == 90)
    await consumer.stop()
    assert scripted.pauses == 0


async def test_the_loop_never_waits_on_the_consumer_while_a_revocation_waits_on_the_loop() -> None:
    """The look-ahead and early hydration ask for partitions' ends, and commits and pauses go
    out, while a revocation runs: none of it may call into the handle from the event loop
    (the revocation's callback waits for the loop, the loop would wait for the callback)."""
    first = [Record(0, o) for o in range(10)] + [Record(1, o) for o in range(10)]
    scripted = ScriptedConsumer([("assign", [0, 1]), first, 0.1, ("revoke", [0, 1])])
    journal = Journal(batch_s=0.5)  # the revocation waits for this batch: a window to ask in
    consumer = consumer_for(scripted)
    await consumer.start(journal.handlers())
    asked = []
    while ("revoked", [0, 1]) not in journal.entries:
        asked.append(consumer.highwater(0))  # as the look-ahead does, on the loop
        await asyncio.sleep(0.01)
    await consumer.stop()
    assert 100 in asked  # the end as of a fetch
    assert scripted.blocked == 0
    assert scripted.commits[0] == [(0, 10)]


async def test_a_revocation_settles_held_acks_before_it_commits() -> None:
    """A worker that holds its acks (the features worker) gives them at ``settle``: the
    hand-over commits them before the partitions go."""
    scripted = ScriptedConsumer([("assign", [0]), [Record(0, o) for o in range(5)], 0.1,
                                 ("revoke", [0])])  # fmt: skip
    journal = Journal()
    held: list[Ack] = []

    async def holding(messages: Sequence[RawMessage], ack: Ack) -> None:
        journal.entries.append(("batch", len(messages)))
        held.append(ack)

    async def settle() -> None:
        journal.entries.append(("settle", len(held)))
        for ack in held:
            await ack()
        held.clear()

    handlers = BatchHandlers(journal.seen, holding, journal.assigned, journal.revoked, settle)
    consumer = consumer_for(scripted)
    await consumer.start(handlers)
    await until(lambda: ("revoked", [0]) in journal.entries)
    await consumer.stop()
    names = [e[0] for e in journal.entries if e[0] != "seen"]
    assert names == ["assigned", "batch", "settle", "revoked"]
    assert scripted.commits == [[(0, 5)]]  # only the hand-over's commit: nothing was acked before


async def test_a_failed_batch_is_not_acked_and_stops_the_consumer() -> None:
    scripted = ScriptedConsumer([("assign", [0]), [Record(0, o) for o in range(5)]])
    consumer = consumer_for(scripted)

    async def failing(messages: Sequence[RawMessage], ack: Ack) -> None:
        raise RuntimeError("boom")

    journal = Journal()
    handlers = BatchHandlers(journal.seen, failing, journal.assigned, journal.revoked)
    await consumer.start(handlers)
    await asyncio.wait_for(consumer.done.wait(), 5)
    await consumer.stop()
    assert isinstance(consumer.failed, RuntimeError)
    assert all(commit == [] for commit in scripted.commits)


async def test_a_fatal_consumer_error_stops_the_consumer_instead_of_stalling_it() -> None:
    scripted = ScriptedConsumer([("assign", [0]), [Record(0, 0, error=FatalError())]])
    consumer = consumer_for(scripted)
    await consumer.start(Journal().handlers())
    await asyncio.wait_for(consumer.done.wait(), 5)
    await consumer.stop()
    assert consumer.failed is not None


def test_a_backlog_fills_the_next_batch_when_it_exceeds_the_partitions_share() -> None:
    assert fills_next_batch(1_000, 100, batch_max=1000, partitions=4)  # 900 > 250
    assert not fills_next_batch(300, 100, batch_max=1000, partitions=4)
    assert not fills_next_batch(None, 100, batch_max=1000, partitions=4)
