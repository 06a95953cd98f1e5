"""What a batch consumer (``streams.batch_consumer``) drives: the worker's side of the protocol
(the ingest worker's ``streams.batch_worker`` and the features worker's
``streams.features.batch_host``), and the ack a batch is handed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from streams.messages import RawMessage

Ack = Callable[[], Awaitable[None]]
"""Marks a batch safe: its offsets may be committed."""
RunBatch = Callable[[Sequence[RawMessage], Ack], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BatchHandlers:
    """What the consumer drives (the worker's services)."""

    seen: Callable[[RawMessage], None]
    """Each fetched message, in offset order per partition, as soon as it is fetched."""
    run_batch: RunBatch
    """A batch, with its ack (``BatchRunner.run``); one at a time."""
    assigned: Callable[[], Awaitable[None]]
    revoked: Callable[[Iterable[int]], Awaitable[None]]
    settle: Callable[[], Awaitable[None]] | None = None
    """At a revocation, once the batch in flight finished and before the acked offsets are
    taken: the worker gives the acks it still holds for batches it ran (the features worker
    holds them until its durable copy covers them). None: it holds none."""
    starts: Callable[[Mapping[int, int]], None] | None = None
    """At an assignment, before any of its messages is seen: the offset each partition is
    consumed from (committed, or the partition's first). None: not wanted."""
