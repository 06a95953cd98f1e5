"""The one thing models read features through: ``features.reader.FeatureReader`` satisfies
this protocol (its ``columns_many``), as do the unit tests' in-memory fakes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

EntityId = str | tuple[str, ...]
"""An entity's id: one key's value, or the values of its keys in order."""
ColumnsRead = tuple[str, Sequence[EntityId], Sequence[str]]
"""(entity, ids, features) of one read."""


class ColumnsLike(Protocol):
    @property
    def values(self) -> list[Sequence[Any]]:
        """Per feature, one value per id (the feature's default where there is none)."""
        ...

    @property
    def present(self) -> list[list[bool]]:
        """Per feature, True where a value was read."""
        ...


class FeatureSource(Protocol):
    async def columns_many(self, reads: Sequence[ColumnsRead]) -> Sequence[ColumnsLike]:
        """Per read, the features' values in id order, column by column; all of them in one
        read of the store; raises when the backend is down."""
        ...
