"""The one thread that calls librdkafka for a ``BatchConsumer`` (``streams.batch_consumer``).

The event loop hands it every call into the handle (fetches, pauses, commits, the partitions'
ends) and never calls the handle itself; librdkafka's rebalance callbacks, which run on this
thread inside ``consume``, hand the hand-over back to the loop and wait for it. A loop blocked in
a handle call (``get_watermark_offsets`` takes the handle's lock) while a revocation's callback
here waits for the loop would stall the worker and its whole group (DESIGN §15).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from confluent_kafka import OFFSET_INVALID, Consumer, Message, TopicPartition

from streams.kafka_fetch import consume_available

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 0.05
"""How long a fetch waits for a first message when none is there (also the stop's latency)."""
T = TypeVar("T")


class ConsumerThread:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.paused = False
        """Whether the owned partitions are paused (the buffer was full at the last fetch)."""
        self._ends: dict[int, int] = {}
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="events-consumer")
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the callbacks hand their work to."""
        self._loop = loop

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """From the loop: ``function(*args)`` on this thread."""
        assert self._loop is not None
        return await self._loop.run_in_executor(self._executor, function, *args)

    def wait_for(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """From this thread (a rebalance callback): ``coroutine`` on the loop, until done."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def end(self, partition: int) -> int | None:
        """The partition's end as of the last fetch (None: not known yet)."""
        return self._ends.get(partition)

    def assigned(self) -> None:
        """A new assignment starts unpaused (revoked partitions are resumed before they go),
        its ends not known yet."""
        self.paused = False
        self._ends.clear()

    def fetch(
        self, consumer: Consumer, owned: Iterable[int], *, full: bool, most: int
    ) -> list[Message]:
        """On this thread: pause or resume the owned partitions as ``full`` asks, take what was
        fetched (at most ``most``), note the owned partitions' ends."""
        owned = list(owned)
        if full != self.paused:
            partitions = [TopicPartition(self.topic, p) for p in owned]
            (consumer.pause if full else consumer.resume)(partitions)
            self.paused = full
        messages = consume_available(consumer, most, FETCH_TIMEOUT_S)
        for partition in owned:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(self.topic, partition), cached=True
            )
            if high is not None and high >= 0 and high != OFFSET_INVALID:
                self._ends[partition] = int(high)
        return messages

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False)


@contextlib.contextmanager
def rebalance_logged(what: str, partitions: list[TopicPartition]) -> Iterator[None]:
    """A rebalance callback's start and end at info (a stalled hand-over shows as a start)."""
    held = sorted(tp.partition for tp in partitions)
    log.info("rebalance: partitions %s %s", held, what)
    started = time.monotonic()
    yield
    log.info("rebalance: partitions %s %s: done in %.2fs", held, what, time.monotonic() - started)
