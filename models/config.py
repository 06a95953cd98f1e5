"""The shape of a model file (YAML), before its graph is checked against the catalogue.

```yaml
description: Home feed ranker
context: [user_id]                              # keys the caller sends in "context"
candidate: {entity: product, key: product_id}   # what the candidates are ids of
derived:                                        # keys read from features fetched earlier
  category_id: product.product_attributes.category_id
columns:                                        # the matrix, in order
  - user.user_activity.clicks_1h
  - {feature: user_category.user_category_activity.clicks_7d, default: 0}
micro_batch: 32                                 # candidates per concurrent micro-batch
deadline_ms: 40                                 # a micro-batch not done by then: defaults
scorer: {kind: logistic, bias: -1.5, weights: {user.user_activity.clicks_1h: 0.2}}
```
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_COLUMNS = 500
MAX_MICRO_BATCH = 1000
MAX_DEADLINE_MS = 10_000
ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CandidateSpec(Strict):
    entity: str = Field(min_length=1)
    key: str = Field(min_length=1)


class ColumnSpec(Strict):
    feature: str = Field(min_length=1, description="entity.group.feature")
    default: Any = Field(None, description="Replaces the feature's default in this model.")

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class ScorerSpec(Strict):
    kind: Literal["linear", "logistic", "entry_point"]
    weights: dict[str, float] = Field(default_factory=dict, description="column -> weight")
    bias: float = 0.0
    entry_point: str | None = Field(
        None, description="module:function(matrix, columns) -> scores (kind entry_point)."
    )
    timed_out_rows: Literal["score", "drop"] = Field(
        "score", description="Rows whose micro-batch timed out: scored on defaults, or left out."
    )

    @field_validator("entry_point")
    @classmethod
    def _module_function(cls, value: str | None) -> str | None:
        if value is not None and not ENTRY_POINT.match(value):
            raise ValueError(f"expected module:function, got {value!r}")
        return value


class ModelFile(Strict):
    description: str = ""
    context: list[str] = Field(default_factory=list, description="Keys the caller sends.")
    candidate: CandidateSpec
    derived: dict[str, str] = Field(
        default_factory=dict, description="key -> entity.group.feature that provides it"
    )
    columns: list[str | ColumnSpec] = Field(min_length=1, max_length=MAX_COLUMNS)
    micro_batch: int = Field(64, ge=1, le=MAX_MICRO_BATCH)
    deadline_ms: int = Field(50, ge=1, le=MAX_DEADLINE_MS)
    scorer: ScorerSpec | None = None

    def column_specs(self) -> list[ColumnSpec]:
        return [ColumnSpec(feature=c) if isinstance(c, str) else c for c in self.columns]
