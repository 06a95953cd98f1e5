"""The cold-tier read of a hydration: every kind of one user in one request.

A hydration loads the newest N interactions of each kind. One request per kind (``bucket IN``)
made three per app_open, and for a user with little or no history (every new user, most
app_opens of a busy ingest) the requests are the cost, not the rows: measured here (2,000 users
without history, 16 in flight, shared 2-core box) 360-395 us of client CPU per user with three
requests, 175-185 us with one, Cassandra's own CPU about the same either way.

One SELECT with ``kind IN ? AND bucket IN ?`` reads the cartesian product of the kinds and the
union of their buckets (bucket numbers of 7- and 28-day spans differ in scale, so a kind is also
asked for buckets of another kind's span: partitions that hold nothing). Rows outside their own
kind's window (bucket and ``ts``) are dropped here, so the result is exactly that of the
per-kind reads. The request is the probe of ``store.bucket_walk`` (a few rows per partition);
each kind's walk then reads the buckets it still needs, one at a time. Scylla refuses more than
100 partition-key combinations in one query (``max_partition_key_restrictions_per_query``); the
default retentions make 3 x ~29, and a longer retention falls back to one request per kind
(``combinations``).
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from core.settings import RetentionSettings
from store.buckets import buckets_between, span_days
from store.cold import read_window
from store.interactions import INTERACTION_KINDS, KIND_FIELDS, ColdRow

MAX_COMBINATIONS = 100
KIND_COLUMNS = tuple(
    dict.fromkeys(name for kind in INTERACTION_KINDS for name in KIND_FIELDS[kind])
)
COLUMNS = ("kind", "bucket", "event_id", "product_id", "category_id", "toUnixTimestamp(ts)")
_ROW_OF = {
    kind: itemgetter(2, 3, 4, 5, *(len(COLUMNS) + KIND_COLUMNS.index(n) for n in KIND_FIELDS[kind]))
    for kind in INTERACTION_KINDS
}
"""Per kind: the driver row's columns that make the kind's ColdRow, in ColdRow order."""


def select_all_cql(table: str) -> str:
    return (
        f"SELECT {', '.join((*COLUMNS, *KIND_COLUMNS))} FROM {table}"  # noqa: S608 - identifiers
        " WHERE user_id = ? AND kind IN ? AND bucket IN ? AND ts >= ? AND ts <= ?"
        " PER PARTITION LIMIT ?"
    )


class HydrationRead:
    """The windows of one read at ``now_ms``: what to bind, and which of the probe's rows each
    kind keeps (``store.bucket_walk`` does the rest)."""

    def __init__(self, retention: RetentionSettings, now_ms: int) -> None:
        self._windows: dict[str, tuple[list[int], frozenset[int], int, int]] = {}
        buckets: set[int] = set()
        self.oldest, self.newest = now_ms, now_ms
        for kind in INTERACTION_KINDS:
            oldest, newest = read_window(retention.days(kind), now_ms, None)
            own = buckets_between(newest, oldest, span_days(kind))
            self._windows[kind] = (own, frozenset(own), oldest, newest)
            buckets.update(own)
            self.oldest, self.newest = min(self.oldest, oldest), max(self.newest, newest)
        self.buckets = sorted(buckets, reverse=True)

    @property
    def combinations(self) -> int:
        """Partition keys the query names (kinds x buckets)."""
        return len(INTERACTION_KINDS) * len(self.buckets)

    def buckets_of(self, kind: str) -> list[int]:
        """The kind's own buckets, newest first."""
        return self._windows[kind][0]

    def window_of(self, kind: str) -> tuple[int, int]:
        """The kind's (oldest, newest) ts, both included."""
        _, _, oldest, newest = self._windows[kind]
        return oldest, newest

    def bind_values(self, user_id: str, per_partition: int) -> list[Any]:
        kinds = list(INTERACTION_KINDS)
        return [user_id, kinds, self.buckets, self.oldest, self.newest, per_partition]

    def probed(self, rows: Iterable[tuple[Any, ...]]) -> list[dict[int, list[ColdRow]]]:
        """Per kind (``INTERACTION_KINDS`` order), the rows inside its own window by bucket,
        each bucket's rows in the order they came (newest first)."""
        found: dict[str, dict[int, list[ColdRow]]] = {kind: {} for kind in INTERACTION_KINDS}
        windows = self._windows
        for row in rows:
            kind, bucket = row[0], row[1]
            _, own, oldest, _ = windows[kind]
            if bucket in own and row[5] >= oldest:
                found[kind].setdefault(bucket, []).append(_ROW_OF[kind](row))
        return [found[kind] for kind in INTERACTION_KINDS]
