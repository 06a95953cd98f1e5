"""The worker on the batch consumer (``INTERSTORE_WORKER_CONSUMER=batch``, the default).

The same services as the Faust app (``streams.services.build_worker``: batches, early
hydration, the inactivity tracker, the rebalance hand-over), driven by ``BatchConsumer``
instead of a Faust agent, with the same timers (inactivity ticks, the lag gauge), the same
pages (/metrics, /healthz, /readyz: ``streams.worker_web``) and the same exit rule: a batch
that fails stops the worker (exit status 1), so the next start resumes from the last commit.
SIGTERM or SIGINT stop it cleanly: the batch in flight finishes, offsets are committed, and
every partition is handed over (live sessions flushed) before the process exits; a stop not
finished within its grace (``stop_grace_s``), or another signal during it, ends the process at
once (exit status 3, ``streams.until_signalled``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from core.settings import Settings
from streams.batch_consumer import BatchConsumer
from streams.batch_handlers import BatchHandlers
from streams.dead_letters import KafkaDeadLetterSink
from streams.kafka_fetch import fetch_batching
from streams.lookahead import LookAhead
from streams.lookahead_kafka import kafka_lookahead
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics
from streams.services import WorkerServices, WorkerStores, build_worker
from streams.until_signalled import run_until_signalled
from streams.worker_web import WorkerWeb

log = logging.getLogger(__name__)
LAG_INTERVAL_S = 5.0
BUFFERED_BATCHES = 4
"""Messages fetched and not yet in a batch, at most, in batches (then partitions pause)."""


def consumer_config(settings: Settings) -> dict[str, Any]:
    """The events consumer's configuration: the worker's group, offsets from the start of the
    topic for a new group, fetches sized by ``fetch_batching``."""
    return {
        **fetch_batching(settings.kafka, settings.worker.fetch_wait_max_ms),
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "group.id": settings.worker.app_id,
        "client.id": f"{settings.worker.app_id}-events",
        "auto.offset.reset": "earliest",
        "enable.auto.offset.store": False,
        "partition.assignment.strategy": "range",
        "queued.max.messages.kbytes": 32 << 10,
    }


class BatchWorker:
    """The worker's services on a ``BatchConsumer``, with their timers and pages."""

    def __init__(
        self,
        settings: Settings,
        services: WorkerServices,
        consumer: BatchConsumer,
        web: WorkerWeb,
        lookahead: LookAhead | None,
    ) -> None:
        self.settings = settings
        self.services = services
        self.consumer = consumer
        self.web = web
        self.lookahead = lookahead
        self._timers: list[asyncio.Task[None]] = []
        self._fetch_stage = services.metrics.stage_seconds.labels("fetch")
        """Observed per message: the labelled child looked up once."""

    async def start(self) -> None:
        await self.web.start()
        handlers = BatchHandlers(
            seen=self._seen,
            run_batch=self.services.batches.run,
            assigned=self.services.rebalance.assigned,
            starts=self.services.early.starts,
            revoked=self.services.rebalance.revoked,
        )
        await self.consumer.start(handlers)
        if self.lookahead is not None:
            self.lookahead.start()
        self._timers = [
            asyncio.create_task(self._every(self.settings.session.tick_s, self._tick)),
            asyncio.create_task(self._every(LAG_INTERVAL_S, self._measure_lag)),
        ]

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        if self.lookahead is not None:
            await self.lookahead.stop()
        await self.consumer.stop()
        await self.services.early.close()
        await self.web.stop()

    async def run_until_signalled(self) -> int:
        """Start, run until SIGTERM/SIGINT or a failed batch, stop; the exit status (a stop not
        finished within the grace ends the process: ``streams.until_signalled``)."""
        grace_s = self.settings.worker.stop_grace_s
        return await run_until_signalled(self, [self.consumer], grace_s)

    def _seen(self, message: RawMessage) -> None:
        """A fetched message: its fetch stage observed, then early hydration sees it."""
        if message.timestamp_ms:
            self._fetch_stage.observe(max(0.0, time.time() - message.timestamp_ms / 1000.0))
        try:
            self.services.early.seen(message)
        except Exception:  # early hydration is an optimisation: its batch handles the message
            log.exception("early hydration skipped a message (its batch handles it)")

    async def _tick(self) -> None:
        if not self.consumer.rebalancing:
            await self.services.tick(self.consumer.owned())

    async def _measure_lag(self) -> None:
        if self.consumer.rebalancing:
            return
        gauge = self.services.metrics.consumer_lag
        for partition, backlog in (await self.consumer.backlog()).items():
            gauge.labels(self.consumer.topic, str(partition)).set(backlog)

    @staticmethod
    async def _every(interval_s: float, action: Any) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await action()
            except Exception:
                log.exception("worker timer %s failed", getattr(action, "__name__", action))


def build_batch_worker(
    settings: Settings, stores: WorkerStores, metrics: WorkerMetrics
) -> BatchWorker:
    """The worker on a batch consumer, wired as ``streams.app.build_app`` wires the Faust one."""
    worker = settings.worker
    topic = settings.topics.events
    consumer = BatchConsumer(
        consumer_config(settings),
        topic,
        batch_max=worker.batch_max,
        batch_within_s=worker.batch_within_s,
        commit_interval_s=worker.commit_interval_s,
        buffer_max=worker.batch_max * BUFFERED_BATCHES,
    )
    services = build_worker(
        settings,
        stores,
        metrics,
        dead_letters=KafkaDeadLetterSink(settings.kafka, settings.topics.dead_letters),
        behind=consumer.behind,
    )
    lookahead = kafka_lookahead(settings, services.early, consumer.owned, consumer.highwater)
    web = WorkerWeb(worker.web_bind, worker.web_port, metrics, consumer)
    return BatchWorker(settings, services, consumer, web, lookahead)
