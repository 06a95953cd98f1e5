"""``bench hydrate``'s preload of cold history tries a timed-out write again, a bounded number
of times (a timeout once ended a whole set)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest
from rich.console import Console

from benchmarks.hydrate.latency import PRELOAD_ATTEMPTS, write_retrying
from core.retry import RetryPolicy
from store.cassandra_cold import CassandraColdStore
from store.errors import ColdStoreUnavailable, ColdWriteError
from store.interactions import Interaction

QUICK = RetryPolicy(initial_s=0.001, max_s=0.001)


class FailingStore:
    """``write_many`` raises ``error`` the first ``failures`` times."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def write_many(self, items: Sequence[Interaction]) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return len(items)


def preload(store: FailingStore) -> None:
    console = Console(quiet=True)
    asyncio.run(write_retrying(cast(CassandraColdStore, store), [], console, QUICK))


def test_a_timed_out_write_is_tried_again() -> None:
    store = FailingStore(PRELOAD_ATTEMPTS - 1, ColdStoreUnavailable("timed out"))
    preload(store)
    assert store.calls == PRELOAD_ATTEMPTS


def test_the_run_fails_after_the_last_attempt() -> None:
    store = FailingStore(PRELOAD_ATTEMPTS, ColdStoreUnavailable("timed out"))
    with pytest.raises(ColdStoreUnavailable):
        preload(store)
    assert store.calls == PRELOAD_ATTEMPTS


def test_a_refused_write_is_not_tried_again() -> None:
    store: Any = FailingStore(1, ColdWriteError("invalid"))
    with pytest.raises(ColdWriteError):
        preload(store)
    assert store.calls == 1
