"""Bucket math: absolute days since the epoch, divided by the span; never a modulo."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store.buckets import (
    DAY_MS,
    SPAN_DAYS,
    bucket_of,
    bucket_start_ms,
    buckets_between,
    span_days,
)
from store.cold import MAX_TTL_S, read_window, ttl_seconds
from store.interactions import INTERACTION_KINDS


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_bucket_is_days_since_epoch_over_span() -> None:
    assert bucket_of(0) == 0
    assert bucket_of(7 * DAY_MS - 1) == 0
    assert bucket_of(7 * DAY_MS) == 1
    assert bucket_of(28 * DAY_MS, span_days=28) == 1
    assert bucket_of(-1) == -1  # floor, not truncation: buckets stay contiguous before 1970


def test_bucket_start_is_the_first_millisecond() -> None:
    for span in (1, 7, 28):
        bucket = bucket_of(ms(2026, 3, 4, 5, 6, 7), span)
        start = bucket_start_ms(bucket, span)
        assert bucket_of(start, span) == bucket
        assert bucket_of(start - 1, span) == bucket - 1


def test_year_boundary_never_collides() -> None:
    dec_31 = ms(2025, 12, 31, 23, 59, 59)
    jan_1 = ms(2026, 1, 1)
    assert bucket_of(jan_1) == bucket_of(dec_31) + 1  # 2026-01-01 starts a 7-day bucket
    assert bucket_of(dec_31 + 364 * DAY_MS) - bucket_of(dec_31) == 52  # not back to 0
    weeks = {bucket_of(ms(2020, 1, 1) + day * DAY_MS) for day in range(0, 5 * 365, 7)}
    assert len(weeks) == len(range(0, 5 * 365, 7))  # five years of weeks, all distinct


def test_buckets_between_newest_first_inclusive() -> None:
    newest, oldest = 30 * DAY_MS + 5, 2 * DAY_MS
    assert buckets_between(newest, oldest) == [4, 3, 2, 1, 0]
    assert buckets_between(newest, oldest, span_days=28) == [1, 0]
    assert buckets_between(oldest, oldest) == [0]
    assert buckets_between(oldest, newest) == []


def test_bad_span() -> None:
    with pytest.raises(ValueError, match="span_days"):
        bucket_of(0, span_days=0)


def test_every_kind_has_a_span() -> None:
    assert set(SPAN_DAYS) == set(INTERACTION_KINDS)
    assert span_days("click") == 7
    assert all(span % 7 == 0 for span in SPAN_DAYS.values())


def test_ttl_is_what_is_left_of_retention() -> None:
    now = ms(2026, 6, 1)
    assert ttl_seconds(90, now, now) == 90 * 86_400
    assert ttl_seconds(90, now - 89 * DAY_MS, now) == 86_400
    assert ttl_seconds(90, now - 90 * DAY_MS + 1, now) == 1  # rounded up: never expires early
    assert ttl_seconds(90, now - 90 * DAY_MS, now) == 0
    assert ttl_seconds(90, now - 91 * DAY_MS, now) == 0
    assert ttl_seconds(90, now + 100 * 365 * DAY_MS, now) == MAX_TTL_S


def test_read_window() -> None:
    now = ms(2026, 6, 1)
    assert read_window(90, now, None) == (now - 90 * DAY_MS + 1, now + DAY_MS)
    assert read_window(90, now, now - 3_600_000) == (now - 3_600_000, now + DAY_MS)
    assert read_window(90, now, 0) == (now - 90 * DAY_MS + 1, now + DAY_MS)
