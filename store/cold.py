"""The cold tier's narrow interface, and the semantics every implementation shares.

Rows are keyed like the table: (user, kind, bucket) partitions, (ts, event id) rows, so writing
an interaction again (a redelivery or a replay) rewrites the same row. Retention is per kind and
counted from the event's own ``ts``: a row lives while ``ts + retention > now``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterable, Sequence
from typing import TypeVar

from store.buckets import DAY_MS
from store.errors import ColdStoreError
from store.hot_codec import encode_row
from store.interactions import INTERACTION_KINDS, ColdRow, Interaction
from store.recent_views import HotMember

T = TypeVar("T")

FUTURE_SKEW_MS = DAY_MS
"""Reads include events up to this far ahead of now (client clocks run fast)."""
MAX_READ_LIMIT = 10_000
"""The largest ``limit`` a store read accepts (a bound on one read's memory, for any caller:
hydration's ``last_n_per_kind`` included). The read API's own bound is lower:
``api.models.MAX_LIMIT``, a public contract."""
MAX_TTL_S = 20 * 365 * 86_400
"""Cassandra's largest TTL (20 years)."""


def ttl_seconds(retention_days: int, ts_ms: int, now_ms: int) -> int:
    """Seconds left until ``ts + retention`` (rounded up, at most MAX_TTL_S); <= 0 means the row
    is already past retention and must not be written."""
    remaining_ms = ts_ms + retention_days * DAY_MS - now_ms
    if remaining_ms <= 0:
        return 0
    return min(-(-remaining_ms // 1000), MAX_TTL_S)


def read_window(retention_days: int, now_ms: int, since_ms: int | None) -> tuple[int, int]:
    """The (oldest, newest) ts a read returns, both included: inside retention at ``now_ms``,
    not before ``since_ms``, and at most FUTURE_SKEW_MS ahead of now."""
    oldest = now_ms - retention_days * DAY_MS + 1
    if since_ms is not None and since_ms > oldest:
        oldest = since_ms
    return oldest, now_ms + FUTURE_SKEW_MS


def check_read(kinds: Sequence[str], limit: int) -> tuple[str, ...]:
    """The requested kinds without repeats; ValueError for unknown kinds or a bad limit."""
    if isinstance(kinds, str):
        raise ValueError(f"kinds must be a sequence of kinds, not the string {kinds!r}")
    unknown = [kind for kind in kinds if kind not in INTERACTION_KINDS]
    if unknown:
        raise ValueError(f"unknown interaction kinds {unknown}; known: {INTERACTION_KINDS}")
    if not 0 <= limit <= MAX_READ_LIMIT:
        raise ValueError(f"limit must be between 0 and {MAX_READ_LIMIT}, got {limit}")
    return tuple(dict.fromkeys(kinds))


def newest_first_key(item: Interaction) -> tuple[int, str, str]:
    """Newest first; equal times in event-id order (the table's clustering order), then kind."""
    return -item.ts_ms, item.event_id, item.kind


def merge_newest_first(per_kind: Iterable[Sequence[Interaction]], limit: int) -> list[Interaction]:
    merged = [item for items in per_kind for item in items]
    merged.sort(key=newest_first_key)
    return merged[:limit]


async def gather_all(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """Await them all (none is left running unobserved), then raise the first error if any."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if not isinstance(result, BaseException)]


class ColdStore(ABC):
    """Interactions by user and kind, newest first, idempotent writes, per-kind retention.

    ``skipped_past_retention`` counts interactions ``write_many`` left out because they were
    already past their kind's retention (replays of old events); a retried call counts again.
    ``statements_written`` counts the statements sent (a row, or a batch of a partition's rows)
    by stores that send statements (Cassandra; its recent-view deltas are counted apart, in
    ``CassandraColdStore.view_statements_written``); it stays 0 in the others. Each
    ``write_many`` also returns the statements it sent itself, for callers that count by path
    while other writes run concurrently.
    """

    skipped_past_retention: int = 0
    statements_written: int = 0
    _closed: bool = False

    @abstractmethod
    async def write_many(self, interactions: Sequence[Interaction]) -> int:
        """Write every interaction, idempotently (keyed by user, kind, ts and event id); return
        the statements sent to the interactions table (0 for stores that send none).

        Raises ColdStoreUnavailable if the backend cannot be reached or any write fails for a
        transient reason (timeout, unavailable, overloaded): part of the batch may be written, so
        the caller retries the whole batch. Never succeeds partly in silence. Raises
        ColdWriteError for what retrying cannot fix (an invalid row: then nothing is written; a
        refused statement, e.g. a schema mismatch): fail loudly, do not retry.
        """

    @abstractmethod
    async def recent(
        self,
        user_id: str,
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> list[Interaction]:
        """A user's newest interactions of ``kinds``, merged newest first, at most ``limit``.

        Only rows inside retention at ``now_ms`` (default: the store's clock), with
        ``ts >= since_ms`` and at most a day ahead of now. Raises ColdStoreUnavailable or
        ColdReadError on failure: an error is never an empty list. ValueError for unknown kinds
        or a limit outside 0..MAX_READ_LIMIT.
        """

    async def recent_rows(
        self, user_id: str, kind: str, *, limit: int, now_ms: int | None = None
    ) -> list[ColdRow]:
        """What a hydration loads: the user's newest ``limit`` interactions of ``kind`` as
        ``ColdRow``s, in no particular order (the hot tier orders them). The window and the
        errors are those of ``recent``. Stores override this to skip building interactions."""
        items = await self.recent(user_id, kinds=(kind,), limit=limit, now_ms=now_ms)
        return [item.row() for item in items]

    async def hydration_rows(
        self, user_id: str, *, limit: int, now_ms: int | None = None
    ) -> dict[str, list[ColdRow]]:
        """``recent_rows`` of every kind, by kind (a hydration's read). Stores override this
        to read every kind in fewer requests."""
        per_kind = await gather_all(
            [
                self.recent_rows(user_id, kind, limit=limit, now_ms=now_ms)
                for kind in INTERACTION_KINDS
            ]
        )
        return dict(zip(INTERACTION_KINDS, per_kind, strict=True))

    async def hydration_members(
        self, user_id: str, *, limit: int, now_ms: int | None = None
    ) -> dict[str, list[HotMember]]:
        """``hydration_rows`` as hot-tier members ``(ts_ms, member)``, by kind, in no particular
        order: what a hydration hands the hot tier. Stores override this to read a compact view
        (``store.recent_views``) instead of the individual rows."""
        rows = await self.hydration_rows(user_id, limit=limit, now_ms=now_ms)
        return {kind: [(row[3], encode_row(kind, row)) for row in of] for kind, of in rows.items()}

    async def ping(self) -> None:
        """Raise ColdStoreUnavailable unless the backend answers (a readiness check)."""
        self._check_open("ping")

    async def close(self) -> None:
        """Stop serving; later calls raise ColdStoreError. (Override to release what the store
        owns, calling this too.)"""
        self._closed = True

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise ColdStoreError(f"{what}: the cold store is closed")
