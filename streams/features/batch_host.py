"""The features worker on batch consumers (``INTERSTORE_FEATURES_WORKER_CONSUMER=batch``, the
default): what the Faust app (``streams.features.app``) does, without Faust's per-record path.

- Two ``BatchConsumer``s in the features consumer group (``app_id``, the Faust app's group):
  one takes the events topic (the user side), the other the repartition topic (the entity
  side). Each side's batches go to ``streams.features.handling``; the user side's repartition
  records go out through ``KafkaOutbox`` (idempotent, acks=all, delivered before the batch
  counts as done). A user-side batch fills within ``batch_within_s``; an entity-side one within
  ``entity_batch_within_s`` (short: its records come in one burst per user-side batch). Early
  hydration has no part here (``seen`` does nothing).
- A handled batch's ack is held by ``HeldAcks`` until the durable copy covers it; at a
  revocation (and so at a stop) the consumer first settles them (a durable flush, then the
  acks), so the hand-over commits what is durable. An ack held across a lost assignment (a
  failed settle) is dropped: the next owner reads those events again and the fences skip them.
- ``HeldAcks`` and the refresher are ``mode`` services started and stopped here; pages
  /metrics, /healthz and /readyz (ready with the owned shard names) through ``WorkerWeb``.
- A batch that fails stops the worker (exit status 1): the next start resumes from the
  committed offsets. SIGTERM or SIGINT stop it cleanly; a stop not finished within its grace
  (``stop_grace_s``), or another signal during it, ends the process at once (exit status 3,
  ``streams.until_signalled``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from confluent_kafka import Consumer

from core.settings import Settings
from features.generation_gate import GatedUpdater
from store.feature_state import FeatureStateUnavailable
from streams.batch_consumer import BatchConsumer
from streams.batch_handlers import Ack, BatchHandlers
from streams.features.handling import FeatureHandling, Outbox, check_definitions
from streams.features.held_acks import HeldAcks
from streams.features.metrics import FeatureMetrics
from streams.features.outbox import KafkaOutbox
from streams.features.records import entity_shard, local_shard, repartition_topic_name
from streams.features.refresher import Refresher
from streams.kafka_fetch import fetch_batching
from streams.messages import RawMessage
from streams.until_signalled import run_until_signalled
from streams.worker_web import WorkerWeb

log = logging.getLogger(__name__)
BUFFERED_BATCHES = 2
"""Messages fetched and not yet in a batch, at most, in batches (then partitions pause)."""


def consumer_config(settings: Settings, side: str) -> dict[str, Any]:
    """A side's consumer: the features group, offsets from the start of a topic for a new
    group, the range assignor (each topic's partitions split among the group's consumers of
    that topic)."""
    app_id = settings.features_worker.app_id
    return {
        **fetch_batching(settings.kafka, settings.features_worker.fetch_wait_max_ms),
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "group.id": app_id,
        "client.id": f"{app_id}-{side}",
        "auto.offset.reset": "earliest",
        "enable.auto.offset.store": False,
        "partition.assignment.strategy": "range",
        "queued.max.messages.kbytes": 32 << 10,
    }


class ClosingOutbox(Outbox, Protocol):
    async def close(self) -> None:
        """Deliver what is queued (a clean stop)."""
        ...


class FeaturesBatchHost:
    def __init__(
        self,
        settings: Settings,
        updater: GatedUpdater,
        metrics: FeatureMetrics,
        *,
        outbox: ClosingOutbox | None = None,
        make_consumer: Callable[[dict[str, Any]], Consumer] = Consumer,
    ) -> None:
        conf = settings.features_worker
        repartition = repartition_topic_name(settings)

        def consumer(side: str, topic: str, within_s: float) -> BatchConsumer:
            return BatchConsumer(
                consumer_config(settings, side),
                topic,
                batch_max=conf.batch_max,
                batch_within_s=within_s,
                commit_interval_s=conf.commit_interval_s,
                buffer_max=conf.batch_max * BUFFERED_BATCHES,
                make_consumer=make_consumer,
            )

        self.handling = FeatureHandling(updater, metrics, settings.topics.partitions)
        self.events = consumer("events", settings.topics.events, conf.batch_within_s)
        self.entities = consumer("entities", repartition, conf.entity_batch_within_s)
        self.outbox = outbox or KafkaOutbox(settings.kafka, repartition)
        self.held = HeldAcks(
            updater.durable, conf.durable_interval_s, conf.durable_max_held,
            metrics.durable_rows.inc,
        )  # fmt: skip
        self.refresher = Refresher(
            updater, self.owned, self.handling.locks, metrics, conf.refresh_interval_s
        )
        self.web = WorkerWeb(conf.web_bind, conf.web_port, metrics, self)
        self._assignments = {id(self.events): 0, id(self.entities): 0}
        self.stop_grace_s = conf.stop_grace_s

    @property
    def rebalancing(self) -> bool:
        return self.events.rebalancing or self.entities.rebalancing

    def owned(self) -> list[str]:
        """The shards this worker holds now (a side's, once its assignment is settled)."""
        shards: list[str] = []
        for consumer, shard in ((self.events, local_shard), (self.entities, entity_shard)):
            if not consumer.rebalancing:
                shards += [shard(p) for p in consumer.owned()]
        return sorted(shards)

    async def start(self) -> None:
        await check_definitions(self.handling.updater, self.handling.metrics)
        await self.web.start()
        await self.held.start()
        await self.refresher.start()
        await self.events.start(self._handlers(self.events, self._user_batch))
        await self.entities.start(self._handlers(self.entities, self.handling.entity_batch))

    async def stop(self) -> None:
        """The consumers first (their batches finish, the held acks settle and are committed),
        then the services."""
        await asyncio.gather(self.events.stop(), self.entities.stop())
        await self.refresher.stop()
        await self.held.stop()
        await self.outbox.close()
        await self.web.stop()

    async def run_until_signalled(self) -> int:
        """Start, run until SIGTERM/SIGINT or a failed batch, stop; the exit status (a stop not
        finished within the grace ends the process: ``streams.until_signalled``)."""
        consumers = [self.events, self.entities]
        return await run_until_signalled(self, consumers, self.stop_grace_s)

    async def _user_batch(self, messages: Sequence[RawMessage]) -> None:
        await self.handling.user_batch(messages, self.outbox)

    def _handlers(
        self, consumer: BatchConsumer, handle: Callable[[Sequence[RawMessage]], Awaitable[None]]
    ) -> BatchHandlers:
        key = id(consumer)

        async def run_batch(messages: Sequence[RawMessage], ack: Ack) -> None:
            await handle(messages)
            assignment = self._assignments[key]

            async def held_ack() -> None:
                if self._assignments[key] == assignment:  # else: not this consumer's any more
                    await ack()

            await self.held.add(held_ack, len(messages))

        async def assigned() -> None:
            self._assignments[key] += 1

        async def revoked(partitions: Iterable[int]) -> None:
            return None

        return BatchHandlers(
            seen=lambda message: None, run_batch=run_batch, assigned=assigned,
            revoked=revoked, settle=self._settle,
        )  # fmt: skip

    async def _settle(self) -> None:
        if self.held.count:
            try:
                await self.held.flush()
            except FeatureStateUnavailable as exc:
                log.warning("held acks not settled at a hand-over (read again later): %s", exc)


async def run_features_batch_worker(
    settings: Settings, updater: GatedUpdater, metrics: FeatureMetrics
) -> int:
    """The batch host until stopped; its exit status."""
    return await FeaturesBatchHost(settings, updater, metrics).run_until_signalled()
