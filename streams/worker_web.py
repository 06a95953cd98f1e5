"""A batch worker's pages (``streams.batch_worker``, ``streams.features.batch_host``), as the
Faust workers serve them: ``/metrics`` (Prometheus; ``?name[]=`` filters), ``/healthz`` (the
process is up) and ``/readyz`` (its consumer holds partitions, or shards: ``streams.readiness``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from aiohttp import web

from streams.readiness import readiness

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4"


class Holding(Protocol):
    """What /readyz asks of the consumer."""

    @property
    def rebalancing(self) -> bool: ...

    def owned(self) -> Iterable[int | str]: ...


class Exposing(Protocol):
    """What /metrics asks of the metrics (``WorkerMetrics``, ``FeatureMetrics``)."""

    def exposition(self, names: Sequence[str] = ()) -> bytes: ...


class WorkerWeb:
    def __init__(self, bind: str, port: int, metrics: Exposing, consumer: Holding) -> None:
        self.bind = bind
        self.port = port
        self.metrics = metrics
        self.consumer = consumer
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/readyz", self._ready)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.bind, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        exposition = self.metrics.exposition(request.query.getall("name[]", []))
        return web.Response(body=exposition, headers={"Content-Type": PROMETHEUS_CONTENT_TYPE})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _ready(self, request: web.Request) -> web.Response:
        body, status = readiness(self.consumer.owned(), self.consumer.rebalancing)
        return web.json_response(body, status=status)
