"""The Faust app of the worker: one agent consumes the events topic in batches.

There is no module-level app: ``build_app`` makes one from settings and the stores, so tests and
several workers in one process tree each get their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.types import TP

from core.settings import Settings
from schemas.codec import default_codec
from store.cold import ColdStore
from store.errors import ColdStoreUnavailable
from store.hot import HotStore, HotStoreUnavailable
from store.watermarks import WatermarkStore
from streams.dead_letters import FaustDeadLetterSink
from streams.early_hydration import EarlyHydration
from streams.ingest import IngestPipeline, RetryPolicy
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics
from streams.session_wiring import build_sessions

log = logging.getLogger(__name__)
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4"  # aiohttp adds the charset itself
LAG_INTERVAL_S = 5.0


def kafka_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server]


def build_app(
    settings: Settings,
    cold: ColdStore,
    hot: HotStore,
    watermark_store: WatermarkStore,
    metrics: WorkerMetrics,
) -> faust.App:
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
    events = app.topic(
        settings.topics.events,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topics.partitions,
    )
    dead_letter_topic = app.topic(
        settings.topics.dead_letters, key_serializer="raw", value_serializer="raw"
    )
    codec = default_codec()
    pipeline = IngestPipeline(
        codec,
        cold,
        FaustDeadLetterSink(dead_letter_topic),
        metrics,
        retry=RetryPolicy(
            worker.retry_initial_s, worker.retry_max_s, worker.replica_failure_attempts
        ),
    )

    sessions = build_sessions(settings, codec, hot, watermark_store, pipeline)
    # Batches, tracker ticks and rebalance hand-overs never interleave: a flush cannot race
    # with an append for the same user.
    lock = asyncio.Lock()

    def behind(message: RawMessage) -> bool:
        """Whether the partition's backlog alone would fill the next batch at once."""
        highwater = app.consumer.highwater(TP(events_name, message.partition))
        share = worker.batch_max / max(1, len(owned_partitions()))
        return highwater is not None and highwater - message.offset > share

    early = EarlyHydration(
        pipeline, sessions.router, sessions.recovery.ensure_intact, lock, behind=behind
    )

    def owned_partitions() -> set[int]:
        return {tp.partition for tp in app.consumer.assignment() if tp.topic == events_name}

    events_name = settings.topics.events

    async def process_until_done(messages: list[RawMessage]) -> None:
        """Process a batch; while the hot tier (or the cold tier, for a watermark or a
        hydration) is unreachable, wait and process it again: every step is idempotent, and
        the batch stays unacked meanwhile."""
        delay = worker.retry_initial_s
        while True:
            try:
                async with lock:
                    await sessions.recovery.ensure_intact({m.partition for m in messages})
                    await pipeline.process(messages)
                    early.handled(messages)
                return
            except (HotStoreUnavailable, ColdStoreUnavailable) as exc:
                log.warning("store unavailable, retrying the batch in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, worker.retry_max_s)

    @app.agent(events, name="ingest")
    async def ingest(stream: Any) -> AsyncIterator[None]:  # a faust.Stream; noack_take is untyped
        stream.add_processor(early.processor(stream))  # sees each message before the batching
        try:
            async for batch in stream.noack_take(worker.batch_max, within=worker.batch_within_s):
                try:
                    messages = [RawMessage.from_faust(event.message) for event in batch]
                    await process_until_done(messages)
                except Exception as exc:
                    # Faust would restart the agent on the same stream and never redeliver the
                    # held (unacked) batch: stop the worker instead, so that the next start
                    # resumes from the last committed offset.
                    log.critical("ingest failed, stopping the worker: %r", exc)
                    await app.crash(exc)
                    raise
                for event in batch:  # in offset order, after the batch is safe: no gaps
                    await stream.ack(event)
                yield None
        finally:
            await early.close()

    @app.timer(settings.session.tick_s)  # type: ignore[untyped-decorator]
    async def track_inactivity() -> None:
        if app.rebalancing:
            return
        try:
            async with lock:
                await sessions.tracker.tick(owned_partitions())
        except (HotStoreUnavailable, ColdStoreUnavailable) as exc:
            log.warning("inactivity tracker skipped a tick: %s", exc)  # the next tick retries

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def load_watermarks(sender: Any, *args: Any, **kwargs: Any) -> None:
        async with lock:
            await sessions.watermarks.load()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def hand_over(sender: Any, revoked: Any, *args: Any, **kwargs: Any) -> None:
        mine = {tp.partition for tp in revoked if tp.topic == events_name}
        if mine:
            async with lock:
                early.forget(mine)
                await sessions.tracker.hand_over(mine)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(metrics.exposition(), content_type=PROMETHEUS_CONTENT_TYPE)

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.timer(LAG_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def measure_lag() -> None:
        if app.rebalancing:
            return
        for tp in app.consumer.assignment():
            if tp.topic != events_name:
                continue
            position = await app.consumer.position(tp)
            highwater = app.consumer.highwater(tp)
            if position is not None and highwater is not None:  # None while (re)assigning
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                    max(0, highwater - position)
                )

    return app
