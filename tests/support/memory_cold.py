"""A real in-memory cold store for unit tests: the same semantics as the Cassandra one.

Rows are kept like the table (partitions keyed by user, kind and bucket; rows by ts and event id)
with an expiry instant like a TTL. Writing a row again merges onto it the way a CQL upsert with
unset columns does: a None kind field leaves the stored value alone.

Failures on demand, so callers' retry logic is tested without mocks: ``available = False`` fails
every call until set back; ``fail_next(n)`` fails the next ``n`` calls, optionally after writing
the first rows of a batch (a partial write, as a real backend can leave).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from core.clock import Clock, wall_clock_ms
from core.settings import RetentionSettings
from store.buckets import bucket_of, buckets_between, span_days
from store.cold import (
    ColdStore,
    check_read,
    merge_newest_first,
    newest_first_key,
    read_window,
    ttl_seconds,
)
from store.errors import ColdStoreUnavailable, ColdWriteError
from store.interactions import INTERACTION_KINDS, KIND_FIELDS, Interaction

PartitionKey = tuple[str, str, int]
RowKey = tuple[int, str]


@dataclasses.dataclass(slots=True)
class _Row:
    item: Interaction
    expires_at_ms: int


class InMemoryColdStore(ColdStore):
    def __init__(self, retention: RetentionSettings, *, clock: Clock = wall_clock_ms) -> None:
        self.retention = retention
        self.clock = clock
        self.available = True
        self._failures_left = 0
        self._fail_after_rows = 0
        self._partitions: dict[PartitionKey, dict[RowKey, _Row]] = {}

    def fail_next(self, times: int = 1, *, after_rows: int = 0) -> None:
        """Fail the next ``times`` calls with ColdStoreUnavailable; a failing ``write_many``
        first writes ``after_rows`` rows of its batch."""
        self._failures_left = times
        self._fail_after_rows = after_rows

    def row_count(self) -> int:
        """Rows held, expired ones included (they are only hidden, like tombstoned cells)."""
        return sum(len(rows) for rows in self._partitions.values())

    def _maybe_fail(self, operation: str) -> int | None:
        """None to go ahead, else how many rows to write before raising ColdStoreUnavailable."""
        self._check_open(operation)
        if not self.available:
            return 0
        if self._failures_left > 0:
            self._failures_left -= 1
            return self._fail_after_rows
        return None

    async def write_many(self, interactions: Sequence[Interaction]) -> int:
        operation = f"write of {len(interactions)} interactions"
        fail_after = self._maybe_fail(operation)
        for item in interactions:
            if item.kind not in INTERACTION_KINDS:
                raise ColdWriteError(f"{operation}: event {item.event_id!r} has kind {item.kind!r}")
        now_ms = self.clock()
        for written, item in enumerate(interactions):
            if fail_after is not None and written >= fail_after:
                raise ColdStoreUnavailable(f"{operation}: failed on demand after {written} rows")
            self._put(item, now_ms)
        if fail_after is not None:
            raise ColdStoreUnavailable(f"{operation}: failed on demand after the whole batch")
        self.statements_written += len(interactions)  # a row each: no batching here
        return len(interactions)

    def _put(self, item: Interaction, now_ms: int) -> None:
        ttl_s = ttl_seconds(self.retention.days(item.kind), item.ts_ms, now_ms)
        if ttl_s <= 0:
            self.skipped_past_retention += 1
            return
        key = (item.user_id, item.kind, bucket_of(item.ts_ms, span_days(item.kind)))
        rows = self._partitions.setdefault(key, {})
        row_key = (item.ts_ms, item.event_id)
        old = rows.get(row_key)
        if old is not None:
            unset = {name: getattr(old.item, name) for name in KIND_FIELDS[item.kind]}
            kept = {name: value for name, value in unset.items() if getattr(item, name) is None}
            item = dataclasses.replace(item, **kept)
        rows[row_key] = _Row(item, now_ms + ttl_s * 1000)

    async def recent(
        self,
        user_id: str,
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> list[Interaction]:
        wanted = check_read(kinds, limit)
        if self._maybe_fail(f"read of recent interactions of user {user_id!r}") is not None:
            raise ColdStoreUnavailable(f"read of user {user_id!r}: failed on demand")
        now = self.clock() if now_ms is None else now_ms
        per_kind = [self._recent_kind(user_id, kind, limit, since_ms, now) for kind in wanted]
        return merge_newest_first(per_kind, limit)

    def _recent_kind(
        self, user_id: str, kind: str, limit: int, since_ms: int | None, now_ms: int
    ) -> list[Interaction]:
        oldest, newest = read_window(self.retention.days(kind), now_ms, since_ms)
        found: list[Interaction] = []
        for bucket in buckets_between(newest, oldest, span_days(kind)):
            if len(found) >= limit:
                break
            rows = self._partitions.get((user_id, kind, bucket), {}).values()
            live = [
                row.item
                for row in rows
                if oldest <= row.item.ts_ms <= newest and row.expires_at_ms > now_ms
            ]
            found.extend(sorted(live, key=newest_first_key))
        return found[:limit]
