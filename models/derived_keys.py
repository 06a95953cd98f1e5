"""Derived keys seen before (a product's ``category_id``), to read every level of a matrix in
one round trip.

A model's levels are read one after another because a level's ids come from values read at the
level before: a product's category decides which user x category value to read. Those values
rarely change, so the builder remembers them per (entity, key, id) and *guesses* the later
levels' ids while it reads the first, in the same read of the store (one MGET). Guesses are
only that: once a level's values are read, the real ids of the next level are computed from
them as always, the guessed reads are used only for the ids that match, and the ids that do
not (a category changed, an id never seen) are read then. The answer is the one the plain
level-by-level read gives; a good guess only saves the round trip.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.source import EntityId


class DerivedKeys:
    """A bounded memory of derived key values, per (entity, key): a table emptied when it
    reaches ``max_entries``."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._known: dict[tuple[str, str], dict[EntityId | None, str | None]] = {}

    def guess(self, entity: str, key: str, ids: Sequence[EntityId | None]) -> list[str | None]:
        """Per id, the value of ``key`` its entity's values gave last (None: unknown)."""
        known = self._known.get((entity, key))
        if known is None:
            return [None] * len(ids)
        return list(map(known.get, ids))

    def remember(
        self, entity: str, key: str, ids: Sequence[EntityId | None], values: Sequence[str | None]
    ) -> None:
        """The values of ``key`` read for ``ids`` (None: unresolved, remembered as unknown)."""
        known = self._known.setdefault((entity, key), {})
        if len(known) + len(ids) > self.max_entries:
            known.clear()
        known.update(zip(ids, values, strict=True))  # in C: a matrix's rows at once
        known.pop(None, None)

    def __len__(self) -> int:
        return sum(map(len, self._known.values()))
