"""The API's request and response shapes, as documented in its OpenAPI schema.

Bounds are part of the contract (they are in the schema), not settings. Responses on the read
routes are built as plain dicts and rendered by orjson (no model validation on the hot path);
these models document them, and the schemathesis tests check the two agree.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.validation import MAX_ID_BYTES as MAX_ID_BYTES  # ids: the events' bound

MAX_LIMIT = 1000
"""Most interactions per user one API request may ask for (the OpenAPI bound); stores accept up
to ``store.cold.MAX_READ_LIMIT``."""
DEFAULT_LIMIT = 100
MAX_BATCH_USERS = 500

Kind = Literal["click", "order", "wishlist"]
Since = int | str
SINCE_DOC = (
    "Only interactions at or after this time: epoch milliseconds, or ISO 8601 "
    "(e.g. 2026-11-25T10:00:00Z; a time without an offset is UTC)."
)


class InteractionOut(BaseModel):
    kind: Kind
    event_id: str
    product_id: str
    category_id: str
    ts: int = Field(description="Epoch milliseconds.")
    surface: str | None = Field(None, description="click")
    position: int | None = Field(None, description="click")
    order_id: str | None = Field(None, description="order")
    quantity: int | None = Field(None, description="order")
    price: str | None = Field(None, description="order: a decimal, as a string")
    currency: str | None = Field(None, description="order")
    action: str | None = Field(None, description="wishlist: add or remove")


class UserInteractions(BaseModel):
    user_id: str
    source: Literal["hot", "cold"] = Field(
        description="hot: a live session in Redis answered; cold: Cassandra answered."
    )
    interactions: list[InteractionOut] = Field(description="Newest first, across kinds.")


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class UserError(BaseModel):
    user_id: str
    error: ErrorDetail


class BatchGetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_ids: list[str] = Field(
        min_length=1,
        max_length=MAX_BATCH_USERS,
        description=f"1 to {MAX_BATCH_USERS} users; an id outside 1..{MAX_ID_BYTES} UTF-8 bytes "
        "gets its own 400 entry, the others are answered.",
    )
    kinds: list[Kind] | None = Field(None, min_length=1, description="Default: every kind.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Per user.")
    since: Since | None = Field(None, description=SINCE_DOC)


class BatchGetResponse(BaseModel):
    results: list[UserInteractions | UserError] = Field(
        description="One entry per requested user, in request order."
    )


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str] = Field(description="Per dependency: ok, or why not.")


class Health(BaseModel):
    status: Literal["ok"]
