"""The features worker as a Faust app (``INTERSTORE_FEATURES_WORKER_CONSUMER=faust``; the
default is the batch host, ``streams.features.batch_host``): consumer group
``interstore-features`` (its own app id).

- ``user_side`` consumes the events topic in batches and ``entity_side`` the repartition topic;
  both hand their batches to ``streams.features.handling`` (user side: its repartition records
  go out through the app's producer, ``FaustOutbox``).
- Each batch is acknowledged only after its states and serving values are in Redis, (user side)
  its repartition records in Kafka and, within ``durable_interval_s``, its states in Cassandra
  (``streams.features.held_acks``: the durable copy is written every few seconds, one row per
  changed entity). A failure stops the worker; the next start resumes from the committed
  offsets and the fences skip what was applied.
- The refresher (``streams.features.refresher``) recomputes values whose windows slid.
- Pages: /metrics, /healthz and /readyz (ready while it holds shards: ``streams.readiness``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import faust

from core.clock import Clock, wall_clock_ms
from core.settings import Settings
from features.generation_gate import GatedUpdater
from streams.app import PROMETHEUS_CONTENT_TYPE, kafka_urls
from streams.faust_tuning import QuietMonitor
from streams.features.handling import Delivered, FeatureHandling, check_definitions
from streams.features.held_acks import HeldAcks
from streams.features.metrics import FeatureMetrics
from streams.features.records import entity_shard, local_shard, repartition_topic_name
from streams.features.refresher import Refresher
from streams.messages import RawMessage
from streams.readiness import add_readiness_page

log = logging.getLogger(__name__)


def build_features_app(
    settings: Settings,
    updater: GatedUpdater,
    metrics: FeatureMetrics,
    clock: Clock = wall_clock_ms,
) -> faust.App:
    conf = settings.features_worker
    app = faust.App(
        conf.app_id,
        broker=kafka_urls(settings.kafka.bootstrap_servers),
        store="memory://",
        datadir=str(conf.data_dir),
        web_bind=conf.web_bind,
        web_port=conf.web_port,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=conf.commit_interval_s,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        Monitor=QuietMonitor,
    )
    partitions = settings.topics.partitions
    events = app.topic(
        settings.topics.events, partitions=partitions, key_serializer="raw", value_serializer="raw"
    )
    repartition = app.topic(
        repartition_topic_name(settings),
        partitions=partitions,
        internal=True,
        key_serializer="raw",
        value_serializer="raw",
    )
    handling = FeatureHandling(updater, metrics, partitions, clock)
    held = HeldAcks(
        updater.durable, conf.durable_interval_s, conf.durable_max_held, metrics.durable_rows.inc
    )
    outbox = FaustOutbox(repartition)

    async def user_batch(messages: Sequence[RawMessage]) -> None:
        await handling.user_batch(messages, outbox)

    def consume(handle: Callable[[Sequence[RawMessage]], Awaitable[None]], within_s: float) -> Any:
        async def agent(stream: Any) -> AsyncIterator[None]:
            async for batch in stream.noack_take(conf.batch_max, within=within_s):
                try:
                    await handle([RawMessage.from_faust(event.message) for event in batch])
                except Exception as exc:
                    # Held (unacked) events are never redelivered to a restarted agent: stop
                    # the worker, so that the next start resumes from the committed offsets.
                    log.critical("features batch failed, stopping the worker: %r", exc)
                    await app.crash(exc)
                    raise
                # acknowledged once the durable copy has them
                await held.add(partial(ack_events, stream, batch), len(batch))
                yield None

        return agent

    app.agent(events, name="features-user-side")(consume(user_batch, conf.batch_within_s))
    app.agent(repartition, name="features-entity-side")(
        consume(handling.entity_batch, conf.entity_batch_within_s)
    )

    def owned_shards() -> list[str]:
        if app.rebalancing:
            return []
        names = {events.get_topic_name(): local_shard, repartition.get_topic_name(): entity_shard}
        return sorted(
            names[tp.topic](tp.partition) for tp in app.consumer.assignment() if tp.topic in names
        )

    refresher = Refresher(updater, owned_shards, handling.locks, metrics, conf.refresh_interval_s)

    @app.task  # type: ignore[untyped-decorator]
    async def start_services() -> None:
        await check_definitions(updater, metrics)
        await app.add_runtime_dependency(held)
        await app.add_runtime_dependency(refresher)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        names = request.query.getall("name[]", [])  # Prometheus' filter: only these samples
        return web.bytes(metrics.exposition(names), content_type=PROMETHEUS_CONTENT_TYPE)

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    add_readiness_page(app, owned_shards)
    return app


async def ack_events(stream: Any, events: Sequence[Any]) -> None:
    """Acknowledge a batch's events on its Faust stream (``HeldAcks`` calls it)."""
    for event in events:
        await stream.ack(event)


class FaustOutbox:
    """The repartition topic through the Faust app's producer (``handling.Outbox``)."""

    def __init__(self, topic: Any) -> None:
        self.topic = topic

    async def send(self, records: Sequence[tuple[int, bytes, bytes]]) -> Delivered:
        futures = [await self.topic.send(key=k, value=v, partition=p) for p, k, v in records]

        async def delivered() -> None:
            for future in futures:
                await future  # raises if the broker did not take it

        return delivered
