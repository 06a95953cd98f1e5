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


EntityIdIn = str | dict[str, str]
FeatureStatus = Literal["present", "missing", "stale"]


class FeaturesGetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(min_length=1, max_length=64, description="product, user, ...")
    ids: list[EntityIdIn] = Field(
        min_length=1,
        description="Entity ids (at most INTERSTORE_FEATURES_MAX_IDS, default 500): strings, or "
        'for a composite entity objects of its keys, e.g. {"user_id": "u1", "category_id": "c1"}. '
        f"Each key 1 to {MAX_ID_BYTES} UTF-8 bytes.",
    )
    features: list[str] = Field(
        min_length=1,
        description='Names as "<group>.<feature>" (GET /v1/features lists them), at most '
        "INTERSTORE_FEATURES_MAX_FEATURES (default 100), all of the request's entity.",
    )


class EntityFeatures(BaseModel):
    id: EntityIdIn = Field(description="As requested.")
    values: list[Any] = Field(description="In request feature order.")
    statuses: list[FeatureStatus] = Field(
        description="Per value: present; missing (never computed: the declared default); stale "
        "(older than its group's max_age)."
    )


class FeaturesGetResponse(BaseModel):
    entity: str
    features: list[str]
    results: list[EntityFeatures] = Field(description="One entry per requested id, in order.")


class FeatureGroupOut(BaseModel):
    name: str
    entity: str
    max_age: str
    features: list[dict[str, Any]] = Field(
        description="name, type, its parameters (kind, window, field, value, n, numerator, "
        "denominator, zero_div, kinds) and default."
    )


class EntityOut(BaseModel):
    keys: list[str]


class FeatureCatalogueOut(BaseModel):
    version: int
    entities: dict[str, EntityOut]
    groups: list[FeatureGroupOut]
