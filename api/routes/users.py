"""Operator actions on one user: ``POST /v1/users/{id}:forget`` (scope ``admin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from api.auth import API_KEY_HEADER, require_scope
from api.errors import ApiError
from api.models import MAX_ID_BYTES, ErrorResponse
from api.params import check_user_id
from api.responses import OrjsonResponse
from store.forgetting import Forgetter

router = APIRouter(prefix="/v1", tags=["users"], dependencies=[Depends(require_scope("admin"))])


class ForgetRequest(BaseModel):
    reason: str = Field("", max_length=1000, description="Why (kept in the audit log).")


class ForgetResponse(BaseModel):
    user_id: str
    forgotten_at_ms: int
    reason: str
    cold_rows: dict[str, int]
    was_live: bool
    hot_interactions: int
    audit_id: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "No API key, or an unknown one.",
        403: "The API key lacks the scope admin.",
        422: "A malformed user id or body.",
        503: "A backend failed: nothing is half done that a retry would not finish.",
    }.items()
}


@router.post(
    "/users/{user_id:anyid}:forget",
    response_model=None,
    responses={200: {"model": ForgetResponse}, **ERRORS},
    summary="Forget a user in every tier",
)
async def forget_user(
    request: Request,
    user_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_BYTES)],
    body: Annotated[ForgetRequest | None, Body()] = None,
) -> Response:
    """Erases the user's interactions in Redis and Cassandra, ends a live session without
    flushing it, and records a tombstone: the worker and replays skip the user's events up to
    now, so the data never comes back. Afterwards the API answers as for an unknown user. Takes
    a few seconds (the tiers are erased twice, around the consumers' tombstone refresh).
    Retrying is safe."""
    check_user_id(user_id)
    forgetter: Forgetter | None = getattr(request.app.state.backends, "forgetter", None)
    if forgetter is None:
        raise ApiError(503, "forgetting users is not available on this API process")
    key = request.headers.get(API_KEY_HEADER, "")
    actor = f"api:key-{key[:4]}…" if key else "api:dev-mode"
    reason = body.reason if body is not None else ""
    report = await forgetter.forget(user_id, reason=reason, actor=actor)
    return OrjsonResponse(report.to_json())
