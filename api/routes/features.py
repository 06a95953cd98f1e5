"""Feature values for rankers (``POST /v1/features:get``) and the catalogue
(``GET /v1/features``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.auth import require_scope
from api.errors import ApiError
from api.metrics import ApiMetrics
from api.models import (
    EntityIdIn,
    ErrorResponse,
    FeatureCatalogueOut,
    FeaturesGetRequest,
    FeaturesGetResponse,
)
from api.params import id_problem
from api.responses import OrjsonResponse
from core.settings import FeatureSettings
from features.errors import UnknownFeatures
from features.reader import EntityId, FeatureReader

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "No API key, or an unknown one.",
        403: "The API key lacks the scope read:features.",
        413: "Request body over the limit (1 MiB by default).",
        422: "Unknown entity or feature names (the message names them), an id of the wrong "
        "shape, or too many ids or features.",
        503: "Redis (or, for last_n features, the interaction store) failed or timed out: retry.",
    }.items()
}

router = APIRouter(
    prefix="/v1", tags=["features"], dependencies=[Depends(require_scope("read:features"))]
)


def _reader(request: Request) -> FeatureReader:
    reader: FeatureReader = request.app.state.backends.features
    return reader


@router.post(
    "/features:get",
    response_model=None,
    responses={200: {"model": FeaturesGetResponse}, **ERRORS},
    summary="Feature values of many entities",
)
async def features_get(request: Request, body: FeaturesGetRequest) -> Response:
    """Per id (in request order) the values of the requested features (in request order) and a
    status per value: `present`, `missing` (never computed: the feature's declared default),
    `stale` (its group's refresher is late by more than the group's `max_age`). Served values
    come from one Redis MGET; `last_n` features from the interaction store's read path, exactly
    as `GET /v1/users/{id}/interactions` answers."""
    settings: FeatureSettings = request.app.state.settings.features
    _check_bounds(body, settings)
    reader = _reader(request)
    try:
        reader.resolve(body.entity, body.features)
    except UnknownFeatures as exc:
        raise ApiError(422, str(exc), details=[{"unknown": exc.names}]) from None
    keys = reader.catalogue.entities[body.entity].keys
    ids = [_entity_id(position, given, keys) for position, given in enumerate(body.ids)]
    rows = await reader.get(body.entity, ids, body.features)
    metrics: ApiMetrics = request.app.state.metrics
    counts = Counter(value.status for row in rows for value in row)
    for status, count in counts.items():
        metrics.features_read.labels(status).inc(count)
    results = []
    for given, row in zip(body.ids, rows, strict=True):
        values, statuses = zip(*row, strict=True)
        results.append({"id": given, "values": values, "statuses": statuses})
    return OrjsonResponse({"entity": body.entity, "features": body.features, "results": results})


@router.get(
    "/features",
    response_model=None,
    responses={200: {"model": FeatureCatalogueOut}, **ERRORS},
    summary="The feature catalogue: entities, groups, features, types, windows, defaults",
)
async def feature_catalogue(request: Request) -> Response:
    return OrjsonResponse(_reader(request).catalogue.describe())


def _check_bounds(body: FeaturesGetRequest, settings: FeatureSettings) -> None:
    if len(body.ids) > settings.max_ids:
        raise ApiError(422, f"ids: at most {settings.max_ids} per request, got {len(body.ids)}")
    if len(body.features) > settings.max_features:
        raise ApiError(
            422, f"features: at most {settings.max_features} per request, got {len(body.features)}"
        )


def _entity_id(position: int, given: EntityIdIn, keys: tuple[str, ...]) -> EntityId:
    """A requested id as the reader takes it; ApiError 422 naming the id's position."""
    if isinstance(given, str):
        if len(keys) != 1:
            raise ApiError(
                422, f"ids[{position}]: a {len(keys)}-key id is an object of {', '.join(keys)}"
            )
        parts: tuple[str, ...] = (given,)
    else:
        if set(given) != set(keys):
            raise ApiError(422, f"ids[{position}]: expected exactly the keys {', '.join(keys)}")
        parts = tuple(given[key] for key in keys)
    for part in parts:
        if problem := id_problem(part, "id"):
            raise ApiError(422, f"ids[{position}]: {problem}")
    return parts[0] if len(parts) == 1 else parts
