"""Builds the read API: routes, error handlers, middleware, and the lifespan that opens and
closes the backends once per process."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.auth import KeyRing
from api.backends import ApiBackends, Backends
from api.docs import install_docs
from api.errors import install_error_handlers
from api.fast_models import FastModelRoutes
from api.fast_reads import FastUserReads
from api.load_gate import LoadGate
from api.metrics import ApiMetrics
from api.middleware import BodyLimit, ConcurrencyLimit, RequestMetrics
from api.model_service import ModelService, view_of
from api.readiness import ReadinessCache
from api.responses import OrjsonResponse
from api.routes import features, health, interactions, models, users
from api.user_reads import UserReads
from core.settings import Settings

log = logging.getLogger("interstore.api")


BackendOpener = Callable[[Settings], Awaitable[ApiBackends]]


def create_app(settings: Settings, open_backends: BackendOpener = Backends.open) -> FastAPI:
    """The ASGI app; NoApiKeys if neither keys nor development mode are configured.
    ``open_backends`` runs in the lifespan (unit tests pass in-memory stores)."""
    keyring = KeyRing(settings.api.keys, dev_mode=settings.api.dev_mode)
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if keyring.dev_mode:
            log.warning("DEVELOPMENT MODE (INTERSTORE_API_DEV_MODE=true): requests need no API key")
        elif keyring.dev_mode_ignored:
            log.warning("INTERSTORE_API_DEV_MODE ignored: API keys are configured and enforced")
        app.state.backends = backends = await open_backends(settings)
        app.state.user_reads = UserReads(
            backends.reader, max_in_flight=settings.api.user_reads_in_flight
        )
        reader = backends.features
        app.state.models = ModelService(
            settings.models, view_of(reader.catalogue), reader, metrics.models
        )
        await app.state.models.start()
        # Everything built so far lives as long as the process: out of the collector's way. A
        # full collection over it took ~70 ms, a pause every request queued behind (p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.models.stop()
            await app.state.backends.close()

    app = FastAPI(
        title="interstore read API",
        version="1",
        description="Recent interactions for rankers: hot (live sessions in Redis) or cold "
        "(Cassandra), one user or many; feature values of many entities and the feature "
        "catalogue. Send an API key in the X-API-Key header.",
        lifespan=lifespan,
        # The API's metrics are its own (Prometheus, api.metrics): FastAPI's native OpenTelemetry
        # off, so no request asks the global OTel providers whether it is on.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        default_response_class=OrjsonResponse,
        docs_url=None,  # served by api.docs from the package's assets, not a CDN
        redoc_url=None,
    )
    install_docs(app)
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.metrics = metrics
    app.state.readiness = ReadinessCache(settings.api.ready_cache_s)
    app.include_router(interactions.router)
    app.include_router(users.router)
    app.include_router(features.router)
    app.include_router(models.router)
    app.include_router(health.router)
    install_error_handlers(app)
    # innermost: the hot read in pure ASGI (api.fast_reads)
    app.add_middleware(FastUserReads, routes=interactions.router.routes)
    if settings.models.fast_routes:  # the model routes in pure ASGI (api.fast_models)
        app.add_middleware(FastModelRoutes, routes=models.router.routes)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.state.load_gate = gate = LoadGate(
        settings.api.max_concurrency,
        settings.api.max_loop_lag_ms / 1000,
        settings.api.connection_limit,
        on_shed=lambda reason: metrics.shed.labels(reason).inc(),
    )
    app.add_middleware(ConcurrencyLimit, gate=gate)
    return app
