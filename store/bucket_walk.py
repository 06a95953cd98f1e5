"""Which cold buckets a read fetches, and how many rows from each: rows fetched stay near the limit.

A kind's read window spans up to ~15 buckets (click: 14 of 7 days for 90 days; order: 15 of 28
days for a year). Asking for every bucket with ``PER PARTITION LIMIT limit`` in one request
fetches up to buckets x limit rows to keep ``limit`` (a hydration of 500 per kind: up to
~29 x 500 per kind for a user with a long history), and naming the buckets one at a time costs
a request per bucket for the many users with little or no history.

The walk does both jobs with one cheap request in the common cases:

1. **Probe**: every bucket of the window in ONE request, at most ``probe_limit(limit)`` rows per
   bucket (``PROBE_ROWS``, 8, or the limit if smaller). An empty user costs this request only;
   a bucket that returned fewer rows than that is known whole.
2. **Walk** the buckets newest first (a bucket holds one time range, so every row of a newer
   bucket is newer than every row of an older one), keeping rows until ``limit``. A bucket the
   probe filled (it may hold more) and whose rows the walk still needs is read again alone, with
   ``LIMIT`` what is still missing: sequential, each read keeps all it fetches.

Rows fetched are at most ``limit`` + buckets x ``PROBE_ROWS`` (the probe's), against
buckets x ``limit`` before; the answer is the same rows (each partition returns its rows newest
first, so the first ``n`` of a bucket are its newest ``n``). Sequential reads happen only for a
user with more than ``PROBE_ROWS`` rows in a bucket still needed: one for a busy user (its newest
bucket has ``limit``), a few more for one whose history is spread thinly over many buckets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

Row = TypeVar("Row", bound=tuple[Any, ...])

PROBE_ROWS = 8
"""Rows per bucket the first request asks for (the rest of a bucket is read only if needed)."""

ReadBucket = Callable[[int, int], Awaitable[list[Row]]]
"""``read(bucket, n)``: the bucket's newest ``n`` rows in the read's window, newest first."""


def probe_limit(limit: int) -> int:
    """Rows per bucket of the probe: ``PROBE_ROWS``, or ``limit`` when smaller."""
    return min(limit, PROBE_ROWS)


def by_bucket(rows: Iterable[Row], bucket_of: Callable[[Row], int]) -> dict[int, list[Row]]:
    """A probe's rows grouped by bucket, each bucket's rows in the order they came."""
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(bucket_of(row), []).append(row)
    return grouped


async def newest_rows(
    buckets: Sequence[int],
    limit: int,
    probed: Mapping[int, list[Row]],
    read: ReadBucket[Row],
) -> list[Row]:
    """The newest ``limit`` rows of ``buckets`` (newest bucket first), from the probe's rows
    (``probed``: at most ``probe_limit(limit)`` per bucket, newest first) and, for a bucket the
    probe filled whose rows are still needed, ``read(bucket, missing)``."""
    per_bucket = probe_limit(limit)
    kept: list[Row] = []
    for bucket in buckets:
        missing = limit - len(kept)
        if missing <= 0:
            break
        rows = probed.get(bucket, [])
        if len(rows) == per_bucket and len(rows) < missing:  # the bucket may hold more
            rows = await read(bucket, missing)
        kept.extend(rows[:missing])
    return kept
