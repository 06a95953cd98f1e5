"""The one thing models read features through: ``features.reader.FeatureReader`` satisfies
this protocol (the contract in CONTRACT-features.md), as do the unit tests' in-memory fakes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

EntityId = str | tuple[str, ...]
"""An entity's id: one key's value, or the values of its keys in order."""


class FeatureValueLike(Protocol):
    @property
    def value(self) -> object: ...

    @property
    def status(self) -> str: ...


class FeatureSource(Protocol):
    async def get(
        self,
        entity: str,
        ids: Sequence[EntityId],
        features: Sequence[str],
        *,
        now_ms: int | None = None,
    ) -> Sequence[Sequence[FeatureValueLike]]:
        """Rows in id order, values in feature order; one read for all ids; a missing value is
        the feature's default with status ``missing``; raises when the backend is down."""
        ...
