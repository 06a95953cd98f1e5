"""The bucket walk (``store.bucket_walk``): the newest ``limit`` rows of a kind's buckets, as one
request over every bucket would answer, with rows fetched near the limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from store.bucket_walk import PROBE_ROWS, by_bucket, newest_rows, probe_limit

Row = tuple[int, int]  # (bucket, ts): a bucket's rows are newest first


class Buckets:
    """Rows per bucket (newest bucket first); reads as Cassandra's per-partition LIMIT does,
    counting the rows and the requests."""

    def __init__(self, sizes: list[int]) -> None:
        self.buckets = list(range(len(sizes) - 1, -1, -1))  # newest first
        self.rows = {
            b: [(b, b * 1000 + 999 - n) for n in range(size)]
            for b, size in zip(self.buckets, sizes, strict=True)
        }
        self.fetched = 0
        self.requests = 0

    def read(self, buckets: list[int], per_bucket: int) -> list[Row]:
        self.requests += 1
        found = [row for b in buckets for row in self.rows[b][:per_bucket]]
        self.fetched += len(found)
        return found

    async def read_bucket(self, bucket: int, missing: int) -> list[Row]:
        return self.read([bucket], missing)

    async def walk(self, limit: int) -> list[Row]:
        probed = by_bucket(self.read(self.buckets, probe_limit(limit)), lambda row: row[0])
        return await newest_rows(self.buckets, limit, probed, self.read_bucket)

    def newest(self, limit: int) -> list[Row]:
        """What the old read kept: every bucket x limit, sorted, the first ``limit``."""
        every = [row for b in self.buckets for row in self.rows[b][:limit]]
        return sorted(every, key=lambda row: -row[1])[:limit]


@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=15),
    limit=st.integers(0, 60),
)
async def test_the_walk_keeps_the_newest_rows_and_fetches_near_the_limit(
    sizes: list[int], limit: int
) -> None:
    buckets = Buckets(sizes)
    assert await buckets.walk(limit) == buckets.newest(limit)
    assert buckets.fetched <= limit + len(sizes) * PROBE_ROWS


async def test_a_long_history_costs_the_limit_not_buckets_times_the_limit() -> None:
    buckets = Buckets([500] * 14)  # 14 full weeks of clicks, a hydration of 500
    assert len(await buckets.walk(500)) == 500
    assert buckets.requests == 2  # the probe, then the newest bucket alone
    assert buckets.fetched == 14 * PROBE_ROWS + 500  # the old read: 14 x 500 = 7,000


async def test_an_empty_or_thin_history_costs_one_request() -> None:
    empty, thin = Buckets([0] * 15), Buckets([3] * 15)
    assert await empty.walk(100) == []
    assert len(await thin.walk(100)) == 45
    assert (empty.requests, thin.requests) == (1, 1)
