"""Models: their matrices (``/matrix``) and ranked candidates (``:rank``), and what is loaded."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.auth import require_scope
from api.errors import ApiError
from api.model_answers import build_matrix, check_scorer, matrix_answer, rank_answer
from api.model_service import ModelService
from api.model_shapes import (
    MatrixRequest,
    MatrixResponse,
    ModelDescription,
    ModelList,
    RankResponse,
)
from api.models import ErrorResponse
from api.responses import OrjsonResponse
from models.errors import UnknownModel
from models.loader import Model

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
    metrics = request.app.state.metrics.models
    found = await build_matrix(
        _service(request), metrics, model, body.context, body.candidates, body.deadline_ms
    )
    return OrjsonResponse(matrix_answer(metrics, model, found, started))


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
    check_scorer(model)
    metrics = request.app.state.metrics.models
    found = await build_matrix(
        _service(request), metrics, model, body.context, body.candidates, body.deadline_ms
    )
    return OrjsonResponse(rank_answer(metrics, model, found, body.candidates, started))
