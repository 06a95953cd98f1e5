"""Request and response shapes of the model routes (issue 12), as the OpenAPI schema shows them.
Answers are built as plain dicts and rendered by orjson; these models document them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models import MAX_ID_BYTES

MAX_CANDIDATES = 1000
MAX_DEADLINE_MS = 10_000
RowStatus = Literal["ok", "missing", "timeout"]
ROW_STATUS_DOC = (
    "Per row: ok; missing (the candidate entity has no stored value in any group read: every "
    "column of that entity is its default); timeout (its micro-batch missed the deadline: its "
    "candidate columns are defaults)."
)


class MatrixRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: dict[str, str] = Field(
        default_factory=dict, description='The model\'s context keys, e.g. {"user_id": "u1"}.'
    )
    candidates: list[str] = Field(
        min_length=1,
        max_length=MAX_CANDIDATES,
        description=f"1 to {MAX_CANDIDATES} candidate ids, each 1 to {MAX_ID_BYTES} UTF-8 bytes.",
    )
    deadline_ms: int | None = Field(
        None, ge=1, le=MAX_DEADLINE_MS, description="Capped by the model's own deadline."
    )


class MatrixResponse(BaseModel):
    model: str
    version: str = Field(description="The content hash of the model file that answered.")
    columns: list[str]
    numeric: list[int] = Field(description="Positions of the numeric columns (null: NaN).")
    rows: list[list[Any]] = Field(description="One row per candidate, in candidate order.")
    row_status: list[RowStatus] = Field(description=ROW_STATUS_DOC)
    partial: bool = Field(description="True when a micro-batch (or the context) timed out.")
    timings_ms: dict[str, float]


class Ranked(BaseModel):
    candidate: str
    score: float
    row_status: RowStatus


class RankResponse(BaseModel):
    model: str
    version: str
    ranking: list[Ranked] = Field(description="Highest score first.")
    dropped: int = Field(description="Timed-out candidates left out (scorer timed_out_rows: drop).")
    partial: bool
    timings_ms: dict[str, float]


class ModelColumn(BaseModel):
    name: str
    default: Any
    numeric: bool


class ModelDescription(BaseModel):
    model: str
    version: str
    description: str
    context: list[str]
    candidate: dict[str, str]
    derived: dict[str, str]
    columns: list[ModelColumn]
    levels: dict[str, list[list[str]]]
    micro_batch: int
    deadline_ms: int
    scorer: dict[str, Any] | None


class ModelList(BaseModel):
    models: list[ModelDescription]
    rejected: dict[str, str] = Field(
        description="Per model, why the file's current content is not the version serving."
    )
