"""Time tiles: the granularity of a window, which tiles a window covers at a time, and when.

A window of W read at ``now_ms`` sums the ``ceil(W / g)`` tiles of granularity ``g`` up to and
including the tile that holds ``now_ms``: it covers ``(now - W, now]`` less at most one tile at
its old end (the part of the oldest minute or hour that is only partly inside). ``g`` is 1 minute
for windows up to 1 hour and 1 hour above, so a 1 h window is exact to the minute and a 7 d or
30 d window to the hour.
"""

from __future__ import annotations

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def granularity_ms(window_ms: int) -> int:
    """1 minute for windows up to 1 hour, 1 hour above."""
    return MINUTE_MS if window_ms <= HOUR_MS else HOUR_MS


def tile_index(ts_ms: int, granularity: int) -> int:
    """The tile holding ``ts_ms``: tiles are ``[i * g, (i + 1) * g)``."""
    return ts_ms // granularity


def tiles_in_window(window_ms: int, granularity: int) -> int:
    """How many tiles a window sums (a window not a multiple of its granularity rounds up)."""
    return -(-window_ms // granularity)


def window_tiles(now_ms: int, window_ms: int, granularity: int) -> range:
    """Indices of the tiles a window read at ``now_ms`` sums, oldest first."""
    newest = tile_index(now_ms, granularity)
    return range(newest - tiles_in_window(window_ms, granularity) + 1, newest + 1)


def next_change_ms(indices: list[int], now_ms: int, window_ms: int, granularity: int) -> int | None:
    """When the sum over these non-empty tiles next changes as time passes, without new events:
    the first moment the oldest covered tile leaves the window, or a future tile enters it."""
    covered = window_tiles(now_ms, window_ms, granularity)
    span = len(covered) * granularity
    times = [
        i * granularity + span if i in covered else i * granularity
        for i in indices
        if i >= covered.start  # older tiles never count again
    ]
    return min(times, default=None)
