"""The features worker's garbage collector settings (``streams.features.collector``), checked in
a process of their own: freezing the test runner's heap would move when its leftovers (an
unclosed socket of another test) are collected, and so which test their warnings fail."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import gc
from streams.features.collector import FULL_EVERY, OLDER_EVERY, YOUNG_THRESHOLD, tune_collector
kept = [{"tile": {1: 2}} for _ in range(1000)]  # start-up objects, alive afterwards
tune_collector()
assert gc.get_freeze_count() >= len(kept), gc.get_freeze_count()
assert gc.get_threshold() == (YOUNG_THRESHOLD, OLDER_EVERY, FULL_EVERY), gc.get_threshold()
"""


def test_start_up_heap_is_frozen_and_collections_are_rare() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
