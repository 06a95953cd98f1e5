"""The one clock: wall time in epoch milliseconds, and the type of an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]
"""A function returning the current time in epoch milliseconds (tests inject their own)."""


def wall_clock_ms() -> int:
    """The current wall time in epoch milliseconds."""
    return time.time_ns() // 1_000_000
