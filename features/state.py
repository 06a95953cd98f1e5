"""The aggregation state of one entity, and its compact msgpack encoding.

- ``fences``: per source partition (of the events topic), the highest source offset applied and
  the newest event time seen from it. A record at or below its partition's fence was applied
  already (a redelivery, a replay, a second worker during a rebalance) and is skipped.
- ``tiles``: per tiled aggregate, tile index -> count, or sum in 1/10,000 units (an integer, so
  the sum does not depend on the order events arrive in).
- ``distinct``: per distinct aggregate, tile index -> the set of values seen in that tile
  (bounded: at most ``DISTINCT_TILE_CAP`` values per tile).
- ``prune_due_ms`` is kept in memory only (see ``aggregate.prune``).
- ``last``: per last_time aggregate, the newest event time; ``attrs``: per attribute aggregate,
  ``(event time, source partition, source offset, value)`` of the newest event carrying it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgpack

from features.packing import converting_packer

FORMAT = 1
DISTINCT_TILE_CAP = 256
_max_ts = attrgetter("max_ts_ms")


@dataclass(slots=True)
class Fence:
    offset: int
    max_ts_ms: int


@dataclass(slots=True)
class EntityState:
    fences: dict[int, Fence] = field(default_factory=dict)
    tiles: dict[int, dict[int, int]] = field(default_factory=dict)
    distinct: dict[int, dict[int, set[str]]] = field(default_factory=dict)
    last: dict[int, int] = field(default_factory=dict)
    attrs: dict[int, tuple[int, int, int, Any]] = field(default_factory=dict)
    late_dropped: int = 0
    prune_due_ms: int = field(default=0, compare=False, repr=False)
    """Not encoded: while the newest event time stays below it, pruning drops nothing
    (``aggregate.prune``); 0 (a decoded state): unknown."""

    @property
    def event_ts_ms(self) -> int | None:
        """The newest event time this state reflects."""
        fences = self.fences
        if len(fences) == 1:  # an entity keyed by user: one source partition
            for only in fences.values():
                return only.max_ts_ms
        return max(map(_max_ts, fences.values()), default=None)

    def encode(self) -> bytes:
        """``[FORMAT, fences as {partition: [offset, max_ts_ms]}, tiles, distinct with each
        tile's set as a sorted list, last, attrs as lists, late_dropped]`` in msgpack: fences
        and sets are converted while packing (``_packable``), not copied first."""
        blob: bytes = converting_packer(_packable).pack(
            [FORMAT, self.fences, self.tiles, self.distinct, self.last, self.attrs,
             self.late_dropped]
        )  # fmt: skip
        return blob

    @classmethod
    def decode(cls, blob: bytes) -> EntityState:
        fmt, fences, tiles, distinct, last, attrs, late = msgpack.unpackb(
            blob, strict_map_key=False
        )
        if fmt != FORMAT:
            raise ValueError(f"unknown feature state format {fmt}")
        return cls(
            {p: Fence(o, t) for p, (o, t) in fences.items()},
            tiles,
            {a: {i: set(v) for i, v in t.items()} for a, t in distinct.items()},
            last,
            {a: (v[0], v[1], v[2], v[3]) for a, v in attrs.items()},
            late,
        )


def _packable(value: object) -> Any:
    """What msgpack packs for a state's fence (``[offset, max_ts_ms]``) and distinct set (its
    values sorted: the same set always packs to the same bytes)."""
    if type(value) is set:
        return sorted(value)
    if type(value) is Fence:
        return [value.offset, value.max_ts_ms]
    raise TypeError(f"cannot pack {type(value).__name__} in a feature state")
