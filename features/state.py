"""The aggregation state of one entity, and its compact msgpack encoding.

- ``fences``: per source partition (of the events topic), the highest source offset applied and
  the newest event time seen from it. A record at or below its partition's fence was applied
  already (a redelivery, a replay, a second worker during a rebalance) and is skipped.
- ``tiles``: per tiled aggregate, tile index -> count, or sum in 1/10,000 units (an integer, so
  the sum does not depend on the order events arrive in).
- ``distinct``: per distinct aggregate, tile index -> the values seen in that tile, a sorted list
  without repeats (bounded: at most ``DISTINCT_TILE_CAP`` values per tile).
- ``prune_due_ms`` is kept in memory only (see ``aggregate.prune``).
- ``last``: per last_time aggregate, the newest event time; ``attrs``: per attribute aggregate,
  ``(event time, source partition, source offset, value)`` of the newest event carrying it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgpack

from features.packing import packer

FORMAT = 1
DISTINCT_TILE_CAP = 256
_max_ts = attrgetter("max_ts_ms")


class Fence(list[int]):
    """``[offset, max_ts_ms]``: a list, so msgpack packs it as the list it is encoded as."""

    __slots__ = ()

    def __init__(self, offset: int, max_ts_ms: int) -> None:
        super().__init__((offset, max_ts_ms))

    @property
    def offset(self) -> int:
        return self[0]

    @offset.setter
    def offset(self, value: int) -> None:
        self[0] = value

    @property
    def max_ts_ms(self) -> int:
        return self[1]

    @max_ts_ms.setter
    def max_ts_ms(self, value: int) -> None:
        self[1] = value


@dataclass(slots=True)
class EntityState:
    fences: dict[int, Fence] = field(default_factory=dict)
    tiles: dict[int, dict[int, int]] = field(default_factory=dict)
    distinct: dict[int, dict[int, list[str]]] = field(default_factory=dict)
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
        """``[FORMAT, fences as {partition: [offset, max_ts_ms]}, tiles, distinct (each tile's
        values a sorted list), last, attrs as lists, late_dropped]`` in msgpack: each part is
        kept in the shape it packs as, so encoding is one call, nothing copied."""
        blob: bytes = packer().pack(
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
            distinct,  # sorted lists as encoded
            last,
            {a: (v[0], v[1], v[2], v[3]) for a, v in attrs.items()},
            late,
        )
