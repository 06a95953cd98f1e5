"""An in-memory watermark store for unit tests (test support, not shipped)."""

from __future__ import annotations

from store.watermarks import WatermarkStore


class InMemoryWatermarkStore(WatermarkStore):
    def __init__(self) -> None:
        self.marks: dict[tuple[str, str, int], int] = {}

    async def load(self, group: str, topic: str) -> dict[int, int]:
        return {p: o for (g, t, p), o in self.marks.items() if (g, t) == (group, topic)}

    async def save(self, group: str, topic: str, partition: int, offset: int | None) -> None:
        if offset is None:
            self.marks.pop((group, topic, partition), None)
        else:
            self.marks[(group, topic, partition)] = offset
