"""Liveness, readiness and metrics (no API key: for probes and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from api.auth import API_KEY_HEADER, KeyRing
from api.backends import ApiBackends
from api.metrics import ApiMetrics
from api.models import Health, Readiness
from api.readiness import ReadinessCache, public
from api.responses import OrjsonResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Response:
    return OrjsonResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=None,
    responses={200: {"model": Readiness}, 503: {"model": Readiness}},
    summary="Kafka, Cassandra and Redis are reachable",
)
async def readyz(request: Request) -> Response:
    """Each check is `ok` or `failing`; why a check fails (host names, errors) only for an API
    key with the `admin` scope in `X-API-Key`, and in the log. Checked at most about once a
    second. The route needs no key, so its OpenAPI entry declares none (the key only adds
    detail)."""
    key = request.headers.get(API_KEY_HEADER)
    backends: ApiBackends = request.app.state.backends
    timeout_s = request.app.state.settings.api.ready_timeout_s
    cache: ReadinessCache = request.app.state.readiness
    checks = await cache.checks(lambda: backends.readiness(timeout_s))
    ready = all(result == "ok" for result in checks.values())
    keyring: KeyRing = request.app.state.keyring
    if not (key and "admin" in (keyring.scopes_of(key) or ())):
        checks = public(checks)
    return OrjsonResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    api_metrics: ApiMetrics = request.app.state.metrics
    registry = api_metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
