"""The features worker's garbage collector settings (``streams.features.collector``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.features.collector import FULL_EVERY, OLDER_EVERY, YOUNG_THRESHOLD, tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_heap_is_frozen_and_collections_are_rare() -> None:
    kept = [{"tile": {1: 2}} for _ in range(1000)]  # start-up objects, alive afterwards
    tune_collector()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, OLDER_EVERY, FULL_EVERY)
