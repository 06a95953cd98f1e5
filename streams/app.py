"""The Faust app of the worker: one agent consumes the events topic in batches.

There is no module-level app: ``build_app`` makes one from settings and the stores, so tests and
several workers in one process tree each get their own. This module only adapts Faust to the
worker's services (``streams.services.build_worker``): the agent hands each batch to the
``BatchRunner``, a timer ticks the inactivity tracker, the rebalance signals go to the
``RebalanceHandOver``, and pages serve /metrics, /healthz (the process is up) and /readyz (its
consumer holds partitions of the events topic: ``streams.readiness``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import faust
from faust.types import TP

from core.settings import Settings
from streams.dead_letters import FaustDeadLetterSink
from streams.early_hydration import EarlyHydration
from streams.lookahead import LookAhead
from streams.lookahead_kafka import kafka_lookahead
from streams.messages import RawMessage, fills_next_batch
from streams.metrics import WorkerMetrics
from streams.readiness import add_readiness_page
from streams.services import WorkerServices, WorkerStores, build_worker

log = logging.getLogger(__name__)
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4"  # aiohttp adds the charset itself
LAG_INTERVAL_S = 5.0


def kafka_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server]


class OwnedPartitions:
    """The events topic's partitions the app's consumer holds now, and their backlogs."""

    def __init__(self, app: faust.App, topic: str, batch_max: int) -> None:
        self.app = app
        self.topic = topic
        self.batch_max = batch_max

    def __call__(self) -> set[int]:
        return {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.topic}

    def highwater(self, partition: int) -> int | None:
        """The partition's end as the app's consumer last fetched it (None: not known yet)."""
        return self.app.consumer.highwater(TP(self.topic, partition))

    def behind(self, message: RawMessage) -> bool:
        """Whether the partition's backlog alone would fill the next batch at once."""
        highwater = self.app.consumer.highwater(TP(self.topic, message.partition))
        return fills_next_batch(highwater, message.offset, self.batch_max, len(self()))


def seeing(stream: Any, early: EarlyHydration, metrics: WorkerMetrics) -> Callable[[Any], Any]:
    """A processor for the agent's Faust stream (added before ``noack_take``): each message
    goes to ``EarlyHydration.seen`` as the stream hands it over, with its fetch and queue
    stages observed."""
    fetch = metrics.stage_seconds.labels("fetch")
    queue = metrics.stage_seconds.labels("queue")

    def see(value: Any) -> Any:
        event = stream.current_event
        if event is not None:
            message = event.message
            try:
                consumed_s, produced_s = message.time_in, message.timestamp
                if consumed_s is not None:
                    waited = max(0.0, time.monotonic() - consumed_s)
                    queue.observe(waited)
                    if produced_s:
                        fetch.observe(max(0.0, time.time() - waited - produced_s))
                early.seen(message)
            except Exception:  # an exception here would restart the agent: its batch stalls
                log.exception("early hydration skipped a message (its batch handles it)")
        return value

    return see


def build_app(settings: Settings, stores: WorkerStores, metrics: WorkerMetrics) -> faust.App:
    worker = settings.worker
    app = faust.App(
        worker.app_id,
        broker=kafka_urls(settings.kafka.bootstrap_servers),
        store="memory://",
        datadir=str(worker.data_dir),
        web_bind=worker.web_bind,
        web_port=worker.web_port,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=worker.commit_interval_s,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
    )
    events_name = settings.topics.events
    events = app.topic(
        events_name,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topics.partitions,
    )
    dead_letter_topic = app.topic(
        settings.topics.dead_letters, key_serializer="raw", value_serializer="raw"
    )
    owned = OwnedPartitions(app, events_name, worker.batch_max)
    services = build_worker(
        settings,
        stores,
        metrics,
        dead_letters=FaustDeadLetterSink(dead_letter_topic),
        behind=owned.behind,
    )
    lookahead = kafka_lookahead(settings, services.early, owned, owned.highwater)
    _connect(app, events, settings, services, owned, lookahead)
    return app


def _connect(
    app: faust.App,
    events: Any,
    settings: Settings,
    services: WorkerServices,
    owned: OwnedPartitions,
    lookahead: LookAhead | None,
) -> None:
    """Hand Faust's agent, timers, signals and pages to the services."""
    worker = settings.worker
    early = services.early

    @app.agent(events, name="ingest")
    async def ingest(stream: Any) -> AsyncIterator[None]:  # a faust.Stream; noack_take is untyped
        stream.add_processor(seeing(stream, early, services.metrics))  # before the batching
        if lookahead is not None:
            lookahead.start()
        try:
            async for batch in stream.noack_take(worker.batch_max, within=worker.batch_within_s):

                async def ack(events: Sequence[Any] = batch) -> None:
                    for event in events:  # in offset order, after the batch is safe: no gaps
                        await stream.ack(event)

                try:
                    messages = [RawMessage.from_faust(event.message) for event in batch]
                    await services.batches.run(messages, ack)
                except Exception as exc:
                    # Faust would restart the agent on the same stream and never redeliver the
                    # held (unacked) batch: stop the worker instead, so that the next start
                    # resumes from the last committed offset.
                    log.critical("ingest failed, stopping the worker: %r", exc)
                    await app.crash(exc)
                    raise
                yield None
        finally:
            if lookahead is not None:
                await lookahead.stop()
            await early.close()

    @app.timer(settings.session.tick_s)  # type: ignore[untyped-decorator]
    async def track_inactivity() -> None:
        if not app.rebalancing:
            await services.tick(owned())

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def load_watermarks(sender: Any, *args: Any, **kwargs: Any) -> None:
        await services.rebalance.assigned()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def hand_over(sender: Any, revoked: Any, *args: Any, **kwargs: Any) -> None:
        await services.rebalance.revoked(tp.partition for tp in revoked if tp.topic == owned.topic)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        names = request.query.getall("name[]", [])  # Prometheus' filter: only these samples
        exposition = services.metrics.exposition(names)
        return web.bytes(exposition, content_type=PROMETHEUS_CONTENT_TYPE)

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    add_readiness_page(app, owned)

    @app.timer(LAG_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def measure_lag() -> None:
        if app.rebalancing:
            return
        for tp in app.consumer.assignment():
            if tp.topic != owned.topic:
                continue
            # Not the consumer's position: aiokafka prefetches thousands of records per
            # partition, so a worker seconds behind shows a position near the high watermark.
            handed = early.seen_upto(tp.partition)
            position = handed + 1 if handed is not None else await app.consumer.position(tp)
            highwater = app.consumer.highwater(tp)
            if position is not None and highwater is not None:  # None while (re)assigning
                services.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                    max(0, highwater - position)
                )
