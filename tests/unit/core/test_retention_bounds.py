"""Retention settings have an upper bound with a clear message: past it a cold read would name
more than 100 buckets (Scylla refuses such IN lists) or a TTL would expire past 2038-01-19
(Cassandra refuses it). Before, any number of days was accepted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.settings import (
    MAX_READ_BUCKETS,
    RETENTION_BUCKET_SPAN_DAYS,
    RetentionSettings,
    retention_limit_days,
)
from store.buckets import SPAN_DAYS


def test_the_spans_here_are_the_cold_tiers() -> None:
    assert dict(SPAN_DAYS) == RETENTION_BUCKET_SPAN_DAYS


def test_order_days_past_the_bucket_bound_are_refused_with_the_reason() -> None:
    RetentionSettings(order_days=2744)
    with pytest.raises(ValidationError, match=f"more than {MAX_READ_BUCKETS} buckets"):
        RetentionSettings(order_days=2800)
    with pytest.raises(ValidationError, match="click_days=700: at most 686 days"):
        RetentionSettings(click_days=700)


def test_near_2038_the_ttl_bound_takes_over() -> None:
    in_2036 = int(datetime(2036, 1, 19, tzinfo=UTC).timestamp() * 1000)
    most, why = retention_limit_days(28, in_2036)
    assert 700 < most < 740
    assert "2038" in why
