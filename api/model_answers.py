"""The steps of the model routes, shared by the FastAPI routes (``api.routes.models``) and their
pure-ASGI hot path (``api.fast_models``): the request's checks, the matrix, its metrics, and the
answers as plain dicts (rendered by orjson). One definition, so both answer alike."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from api.errors import ApiError
from api.metrics import ModelMetrics
from api.model_service import ModelService
from api.models import MAX_ID_BYTES
from models.errors import ScorerError
from models.loader import Model
from models.matrix import Matrix
from models.scoring import numeric_matrix


def check_request(model: Model, context: Mapping[str, str], candidates: Sequence[str]) -> None:
    """ApiError 422 naming the first problem: a context key missing or unknown, an id empty,
    too long or not valid UTF-8."""
    wanted = model.plan.context_keys
    if missing := [key for key in wanted if key not in context]:
        raise ApiError(
            422, f"context: missing {', '.join(missing)} (model {model.id} needs {list(wanted)})"
        )
    if extra := sorted(set(context) - set(wanted)):
        raise ApiError(
            422, f"context: unknown key {extra[0]!r}; model {model.id} takes {list(wanted)}"
        )
    if not _all_sized(candidates):  # name the first bad one
        for index, candidate in enumerate(candidates):
            _check_id(f"candidates[{index}]", candidate)
    for key, value in context.items():
        _check_id(f"context.{key}", value)


def _all_sized(ids: Sequence[str]) -> bool:
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


async def build_matrix(
    service: ModelService, metrics: ModelMetrics, model: Model, context: Mapping[str, str],
    candidates: Sequence[str], deadline_ms: int | None,
) -> Matrix:  # fmt: skip
    """The checked request's matrix (the deadline capped by the model's), counted."""
    check_request(model, context, candidates)
    deadline = min(deadline_ms or model.spec.deadline_ms, model.spec.deadline_ms)
    matrix = await service.builder.build(
        model.plan, context, candidates, micro_batch=model.spec.micro_batch,
        deadline_s=deadline / 1000,
    )  # fmt: skip
    _count(metrics, model, matrix, len(candidates))
    return matrix


def _count(metrics: ModelMetrics, model: Model, matrix: Matrix, candidates: int) -> None:
    series, name = metrics.series, model.id
    series(metrics.candidates, name).observe(candidates)
    series(metrics.micro_batches, name).inc(matrix.micro_batches)
    if matrix.timed_out_batches:
        series(metrics.timed_out_batches, name).inc(matrix.timed_out_batches)
    if matrix.partial:
        series(metrics.partial, name).inc()
    stats = matrix.stats
    series(metrics.keys_requested, name).inc(stats.keys_requested)
    series(metrics.keys_read, name).inc(stats.keys_read)
    if stats.keys_requested:
        series(metrics.dedup_ratio, name).observe(stats.keys_read / stats.keys_requested)


def matrix_answer(
    metrics: ModelMetrics, model: Model, found: Matrix, started: float
) -> dict[str, Any]:
    """The ``/matrix`` answer; the request's seconds observed (``started``: perf_counter)."""
    found.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 3)
    metrics.series(metrics.seconds, model.id, "matrix").observe(time.perf_counter() - started)
    return {
        "model": model.id,
        "version": model.version,
        "columns": found.columns,
        "numeric": [i for i, column in enumerate(model.plan.columns) if column.numeric],
        "rows": list(zip(*found.values, strict=True)),
        "row_status": found.row_status,
        "partial": found.partial,
        "timings_ms": found.timings_ms,
    }


def check_scorer(model: Model) -> None:
    if model.scorer is None:
        raise ApiError(422, f"model {model.id} names no scorer: ask /matrix instead")


def rank_answer(
    metrics: ModelMetrics, model: Model, found: Matrix, candidates: Sequence[str],
    started: float,
) -> dict[str, Any]:  # fmt: skip
    """The ``:rank`` answer: the matrix scored and sorted (timed-out rows scored on their
    defaults, or left out); ApiError 500 if the scorer fails."""
    scorer = model.scorer
    assert scorer is not None  # check_scorer ran first
    scored = time.perf_counter()
    try:
        scores = scorer.score(numeric_matrix(model.plan, found.values))
    except ScorerError as exc:
        raise ApiError(500, str(exc)) from None
    keep = np.arange(len(scores))
    if scorer.timed_out_rows == "drop":
        keep = np.array(
            [i for i, s in enumerate(found.row_status) if s != "timeout"], dtype=np.int64
        )
    order = keep[np.argsort(-scores[keep], kind="stable")]
    statuses, listed = found.row_status, scores.tolist()
    ranking = [
        {"candidate": candidates[i], "score": listed[i], "row_status": statuses[i]}
        for i in order.tolist()
    ]
    done = time.perf_counter()
    found.timings_ms["score"] = round((done - scored) * 1000, 3)
    found.timings_ms["total"] = round((done - started) * 1000, 3)
    metrics.series(metrics.seconds, model.id, "rank").observe(done - started)
    return {
        "model": model.id,
        "version": model.version,
        "ranking": ranking,
        "dropped": len(scores) - len(keep),
        "partial": found.partial,
        "timings_ms": found.timings_ms,
    }
