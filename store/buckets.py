"""Time buckets of the cold tier: absolute time, never a calendar position modulo anything.

A bucket is ``days since the Unix epoch // span_days``: bucket numbers only grow, so December and
January of different years never collide, and the buckets of a time range are a plain integer
range.

The span is chosen per kind, because the two costs it trades are set by how often a kind occurs:

- Partition size (a heavy user's bucket must stay well under ~100 MB, ideally ~10 MB). A stored
  row is ~150 bytes. Clicks are the busy kind: an extreme user or bot at 50,000 clicks a day fills
  a 7-day bucket with ~350,000 rows (~50 MB); a 28-day one would pass 200 MB. Orders and wishlist
  changes are two or three orders of magnitude rarer: even a reseller account at 500 a day fills
  a 28-day bucket with 14,000 rows (~2 MB).
- Partitions a sparse user's read must touch. ``recent`` walks buckets newest first until it has
  ``limit`` rows; a heavy user stops in the first bucket, but a user with little history (most
  users, and every new one) walks to the retention horizon. With 7-day buckets for every kind that
  is 14 (click, 90 d) + 27 (wishlist, 180 d) + 53 (order, 365 d) = ~94 single-partition queries
  per empty read, Python CPU the system cannot spare (DESIGN 11). Clicks at 7 days and the others
  at 28 days make it 14 + 8 + 15 = ~37, and a 28-day span is a whole number of 7-day spans.

Changing a span changes where existing rows are: it is a data migration, not a setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DAY_MS = 86_400_000
DEFAULT_SPAN_DAYS = 7
SPAN_DAYS: Mapping[str, int] = MappingProxyType({"click": 7, "wishlist": 28, "order": 28})


def span_days(kind: str) -> int:
    """The bucket span of an interaction kind, in days."""
    return SPAN_DAYS[kind]


def bucket_of(ts_ms: int, span_days: int = DEFAULT_SPAN_DAYS) -> int:
    """The bucket holding ``ts_ms``: whole days since the epoch, floor-divided by the span."""
    if span_days < 1:
        raise ValueError(f"span_days must be at least 1, got {span_days}")
    return (ts_ms // DAY_MS) // span_days


def bucket_start_ms(bucket: int, span_days: int = DEFAULT_SPAN_DAYS) -> int:
    """The first millisecond of ``bucket``."""
    return bucket * span_days * DAY_MS


def buckets_between(
    newest_ts_ms: int, oldest_ts_ms: int, span_days: int = DEFAULT_SPAN_DAYS
) -> list[int]:
    """Every bucket from the one of ``newest_ts_ms`` down to the one of ``oldest_ts_ms``, newest
    first, both included; empty if ``newest_ts_ms < oldest_ts_ms``."""
    if newest_ts_ms < oldest_ts_ms:
        return []
    newest = bucket_of(newest_ts_ms, span_days)
    oldest = bucket_of(oldest_ts_ms, span_days)
    return list(range(newest, oldest - 1, -1))
