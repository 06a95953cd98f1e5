"""The read counters of the interactions routes: each user's outcome, by source or failure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.errors import backend_status
from api.metrics import ApiMetrics
from store.errors import ReadTimedOut, StoreError
from store.read_path import ReadFailed, ReadOutcome


def failure_reason(error: StoreError) -> str:
    if isinstance(error, ReadTimedOut):
        return "timeout"
    return "unavailable" if backend_status(error) == 503 else "refused"


def count_reads(metrics: ApiMetrics, outcomes: Sequence[ReadOutcome[Any]]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, ReadFailed):
            metrics.read_errors.labels(failure_reason(outcome.error)).inc()
        else:
            metrics.user_reads.labels(outcome.source).inc()
