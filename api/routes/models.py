"""Models: their matrices (``/matrix``) and ranked candidates (``:rank``), and what is loaded."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.auth import require_scope
from api.errors import ApiError
from api.metrics import ModelMetrics
from api.model_service import ModelService
from api.model_shapes import (
    MatrixRequest,
    MatrixResponse,
    ModelDescription,
    ModelList,
    RankResponse,
)
from api.models import MAX_ID_BYTES, ErrorResponse
from api.responses import OrjsonResponse
from models.errors import ScorerError, UnknownModel
from models.loader import Model
from models.matrix import Matrix
from models.scoring import numeric_matrix

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "No API key, or an unknown one.",
        403: "The API key lacks the scope read:features.",
        404: "No model of that id is loaded.",
        422: "A parameter out of bounds or malformed; the message says which.",
        503: "The feature store failed: retry (never a 200 of defaults).",
    }.items()
}

router = APIRouter(
    prefix="/v1", tags=["models"], dependencies=[Depends(require_scope("read:features"))]
)


def _service(request: Request) -> ModelService:
    service: ModelService = request.app.state.models
    return service


def _model(request: Request, model_id: str) -> Model:
    try:
        return _service(request).registry.get(model_id)
    except UnknownModel as exc:
        raise ApiError(404, str(exc)) from None


def _check(model: Model, body: MatrixRequest) -> None:
    wanted = model.plan.context_keys
    if missing := [key for key in wanted if key not in body.context]:
        raise ApiError(
            422, f"context: missing {', '.join(missing)} (model {model.id} needs {list(wanted)})"
        )
    if extra := sorted(set(body.context) - set(wanted)):
        raise ApiError(
            422, f"context: unknown key {extra[0]!r}; model {model.id} takes {list(wanted)}"
        )
    if not _all_sized(body.candidates):  # name the first bad one
        for index, candidate in enumerate(body.candidates):
            _check_id(f"candidates[{index}]", candidate)
    for key, value in body.context.items():
        _check_id(f"context.{key}", value)


def _all_sized(ids: list[str]) -> bool:
    """Every id 1 to MAX_ID_BYTES UTF-8 bytes, without a Python call per id when all are."""
    try:
        "".join(ids).encode()
    except UnicodeEncodeError:
        return False
    return min(map(len, ids)) >= 1 and max(map(len, ids)) * 4 <= MAX_ID_BYTES


def _check_id(where: str, value: str) -> None:
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        raise ApiError(422, f"{where}: not valid UTF-8") from None
    if not 1 <= size <= MAX_ID_BYTES:
        raise ApiError(422, f"{where}: must be 1 to {MAX_ID_BYTES} UTF-8 bytes, got {size}")


async def _matrix(request: Request, model: Model, body: MatrixRequest) -> Matrix:
    _check(model, body)
    deadline_ms = min(body.deadline_ms or model.spec.deadline_ms, model.spec.deadline_ms)
    matrix = await _service(request).builder.build(
        model.plan, body.context, body.candidates,
        micro_batch=model.spec.micro_batch, deadline_s=deadline_ms / 1000,
    )  # fmt: skip
    _count(request.app.state.metrics.models, model, matrix, len(body.candidates))
    return matrix


def _count(metrics: ModelMetrics, model: Model, matrix: Matrix, candidates: int) -> None:
    metrics.candidates.labels(model.id).observe(candidates)
    metrics.micro_batches.labels(model.id).inc(matrix.micro_batches)
    if matrix.timed_out_batches:
        metrics.timed_out_batches.labels(model.id).inc(matrix.timed_out_batches)
    if matrix.partial:
        metrics.partial.labels(model.id).inc()
    stats = matrix.stats
    metrics.keys_requested.labels(model.id).inc(stats.keys_requested)
    metrics.keys_read.labels(model.id).inc(stats.keys_read)
    if stats.keys_requested:
        metrics.dedup_ratio.labels(model.id).observe(stats.keys_read / stats.keys_requested)


@router.get("/models", response_model=ModelList, summary="The loaded models")
async def list_models(request: Request) -> Response:
    registry = _service(request).registry
    return OrjsonResponse(
        {"models": [m.describe() for m in registry.all()], "rejected": registry.rejections()}
    )


@router.get(
    "/models/{model_id}", response_model=None, summary="One loaded model: version, columns, graph",
    responses={200: {"model": ModelDescription}, **ERRORS},
)  # fmt: skip
async def get_model(request: Request, model_id: str) -> Response:
    return OrjsonResponse(_model(request, model_id).describe())


@router.post(
    "/models/{model_id}/matrix",
    response_model=None,
    responses={200: {"model": MatrixResponse}, **ERRORS},
    summary="A model's feature matrix for a context and its candidates",
)
async def matrix(request: Request, model_id: str, body: MatrixRequest) -> Response:
    """Rows in candidate order. Candidates are resolved in concurrent micro-batches, each entity
    kind read once per level for its distinct ids. A micro-batch that misses the deadline gets
    defaults and `timeout` rows, and the answer is `partial` (still a 200); a feature store that
    is down is a 503. `numeric` names the columns a ranker can read as one float matrix."""
    started = time.perf_counter()
    model = _model(request, model_id)
    found = await _matrix(request, model, body)
    found.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 3)
    request.app.state.metrics.models.seconds.labels(model.id, "matrix").observe(
        time.perf_counter() - started
    )
    return OrjsonResponse(
        {
            "model": model.id,
            "version": model.version,
            "columns": found.columns,
            "numeric": [i for i, column in enumerate(model.plan.columns) if column.numeric],
            "rows": list(zip(*found.values, strict=True)),
            "row_status": found.row_status,
            "partial": found.partial,
            "timings_ms": found.timings_ms,
        }
    )


@router.post(
    "/models/{model_id}:rank",
    response_model=None,
    responses={200: {"model": RankResponse}, **ERRORS},
    summary="Candidates scored by the model's scorer, highest first",
)
async def rank(request: Request, model_id: str, body: MatrixRequest) -> Response:
    """The matrix, scored (the model's linear/logistic weights or its entry point), sorted by
    score. Timed-out rows are scored on their defaults and flagged, or left out, as the model's
    `scorer.timed_out_rows` says."""
    started = time.perf_counter()
    model = _model(request, model_id)
    if model.scorer is None:
        raise ApiError(422, f"model {model.id} names no scorer: ask /matrix instead")
    found = await _matrix(request, model, body)
    scored = time.perf_counter()
    try:
        scores = model.scorer.score(numeric_matrix(model.plan, found.values))
    except ScorerError as exc:
        raise ApiError(500, str(exc)) from None
    keep = np.arange(len(scores))
    if model.scorer.timed_out_rows == "drop":
        keep = np.array(
            [i for i, s in enumerate(found.row_status) if s != "timeout"], dtype=np.int64
        )
    order = keep[np.argsort(-scores[keep], kind="stable")]
    statuses, listed = found.row_status, scores.tolist()
    ranking = [
        {"candidate": body.candidates[i], "score": listed[i], "row_status": statuses[i]}
        for i in order.tolist()
    ]
    done = time.perf_counter()
    found.timings_ms["score"] = round((done - scored) * 1000, 3)
    found.timings_ms["total"] = round((done - started) * 1000, 3)
    request.app.state.metrics.models.seconds.labels(model.id, "rank").observe(done - started)
    return OrjsonResponse(
        {
            "model": model.id,
            "version": model.version,
            "ranking": ranking,
            "dropped": len(scores) - len(keep),
            "partial": found.partial,
            "timings_ms": found.timings_ms,
        }
    )
