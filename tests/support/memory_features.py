"""A feature store in a dict: for unit tests of pure logic only (the reader, the routes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from store.errors import FeatureStoreUnavailable
from store.feature_store import FeatureStore


class InMemoryFeatureStore(FeatureStore):
    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.reads: list[list[str]] = []
        self.down = False
        """Set to make every call fail as an unreachable store would."""

    async def read_values(self, keys: Sequence[str]) -> list[bytes | None]:
        self._check()
        self.reads.append(list(keys))
        return [self.values.get(key) for key in keys]

    async def write_values(self, values: Mapping[str, bytes]) -> None:
        self._check()
        self.values.update(values)

    async def ping(self) -> None:
        self._check()

    async def close(self) -> None:
        pass

    def _check(self) -> None:
        if self.down:
            raise FeatureStoreUnavailable("in-memory feature store is down")
