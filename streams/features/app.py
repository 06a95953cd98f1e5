"""The features worker's Faust app: consumer group ``interstore-features`` (its own app id).

- ``user_side`` consumes the events topic in batches: user and user x category state are
  applied here; the events of other entities (product, category) go to the repartition topic,
  each record carrying its source partition and offset.
- ``entity_side`` consumes the repartition topic: product and category state.
- Each batch is acknowledged only after its states and serving values are in Redis, (user side)
  its repartition records in Kafka and, within ``durable_interval_s``, its states in Cassandra
  (``streams.features.held_acks``: the durable copy is written every few seconds, one row per
  changed entity). A failure stops the worker; the next start resumes from the committed
  offsets and the fences skip what was applied.
- The refresher (``streams.features.refresher``) recomputes values whose windows slid.
- Pages: /metrics, /healthz and /readyz (ready while it holds shards: ``streams.readiness``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import faust

from core.clock import Clock, wall_clock_ms
from core.settings import Settings
from features.generation_gate import GatedUpdater
from features.updater import EntityBatch, UpdateReport
from schemas.codec import default_codec
from store.feature_state import FeatureStateUnavailable
from streams.app import PROMETHEUS_CONTENT_TYPE, kafka_urls
from streams.faust_tuning import QuietMonitor
from streams.features.held_acks import HeldAcks
from streams.features.metrics import FeatureMetrics
from streams.features.records import decode_repartitioned, entity_shard, local_shard, route
from streams.features.refresher import Refresher
from streams.messages import RawMessage
from streams.readiness import add_readiness_page

log = logging.getLogger(__name__)


def repartition_topic_name(settings: Settings) -> str:
    return settings.topics.events + settings.features_worker.repartition_suffix


async def check_definitions(updater: GatedUpdater, metrics: FeatureMetrics) -> None:
    """Warn (and set ``interstore_feature_groups_changed``) when the loaded definitions differ
    from the ones the current generation was built with: the worker will wait (its gate's
    ``GenerationMismatch``) until restarted with them, or until a rebuild switches to these."""
    try:
        generation, changed = await updater.changed_groups()
    except FeatureStateUnavailable as exc:
        log.warning("cannot compare the definitions with the current generation's: %s", exc)
        return
    metrics.changed_groups.set(len(changed or []))
    if changed:
        log.warning(
            "feature groups %s differ from the definitions generation %d was built with: this "
            "worker waits until restarted with that definitions file, or until `interstore "
            "features rebuild` (--groups with at least these) switches to these definitions",
            ", ".join(changed), generation,
        )  # fmt: skip


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
    codec = default_codec()
    locks = {"u": asyncio.Lock(), "e": asyncio.Lock()}
    held = HeldAcks(
        updater.durable, conf.durable_interval_s, conf.durable_max_held, metrics.durable_rows.inc
    )

    def record(report: UpdateReport) -> None:
        metrics.events.labels("applied").inc(report.applied)
        metrics.events.labels("duplicate").inc(report.duplicates)
        metrics.events.labels("late").inc(report.late)
        metrics.events.labels("forgotten").inc(report.forgotten)
        metrics.conflicts.inc(report.conflicts)
        metrics.reloaded.inc(report.reloaded)

    def visible(report: UpdateReport) -> None:
        """Freshness: the values are in Redis now (the durable copy is written after)."""
        now_ms = wall_clock_ms()
        for group, times in report.visible:
            histogram = metrics.freshness.labels(group)
            for ts in times:
                histogram.observe(max(0.0, (now_ms - ts) / 1000))

    async def until_done(lock: asyncio.Lock, step: Callable[[], Awaitable[None]]) -> None:
        """Run a batch's step; while a store is unreachable, wait and run it again (every
        step is idempotent: fences and versioned writes)."""
        delay = 0.5
        while True:
            try:
                async with lock:
                    await step()
                return
            except FeatureStateUnavailable as exc:
                log.warning("feature state unavailable, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def user_batch(messages: Sequence[RawMessage]) -> None:
        routed = route(codec, updater.plans, messages, clock(), partitions)
        metrics.events.labels("bad").inc(routed.bad)
        metrics.events.labels("ignored").inc(routed.ignored)
        deliveries = [
            await repartition.send(key=k, value=v, partition=p) for p, k, v in routed.outgoing
        ]

        async def step() -> None:
            record(await updater.apply(routed.local, visible))

        await until_done(locks["u"], step)
        for delivery in deliveries:
            await delivery  # raises if the broker did not take it
        metrics.repartitioned.inc(len(deliveries))

    async def entity_batch(messages: Sequence[RawMessage]) -> None:
        batches: list[EntityBatch] = decode_repartitioned(messages)

        async def step() -> None:
            record(await updater.apply(batches, visible))

        await until_done(locks["e"], step)

    def consume(handle: Callable[[Sequence[RawMessage]], Awaitable[None]], side: str) -> Any:
        consumed = metrics.consumed.labels(side)

        async def agent(stream: Any) -> AsyncIterator[None]:
            async for batch in stream.noack_take(conf.batch_max, within=conf.batch_within_s):
                try:
                    await handle([RawMessage.from_faust(event.message) for event in batch])
                except Exception as exc:
                    # Held (unacked) events are never redelivered to a restarted agent: stop
                    # the worker, so that the next start resumes from the committed offsets.
                    log.critical("features batch failed, stopping the worker: %r", exc)
                    await app.crash(exc)
                    raise
                consumed.inc(len(batch))
                await held.add(stream, batch)  # acknowledged once the durable copy has them
                yield None

        return agent

    app.agent(events, name="features-user-side")(consume(user_batch, "events"))
    app.agent(repartition, name="features-entity-side")(consume(entity_batch, "entities"))

    def owned_shards() -> list[str]:
        if app.rebalancing:
            return []
        names = {events.get_topic_name(): local_shard, repartition.get_topic_name(): entity_shard}
        return sorted(
            names[tp.topic](tp.partition) for tp in app.consumer.assignment() if tp.topic in names
        )

    refresher = Refresher(updater, owned_shards, locks, metrics, conf.refresh_interval_s)

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
