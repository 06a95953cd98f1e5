"""The garbage collector's settings in the features worker's process.

The worker's heap is mostly long-lived entity states (``features.state_cache`` keeps 30,000
decoded: about 400,000 tracked dicts, sets, fences and keys) that hold no reference cycles. With
CPython's default thresholds (700, 10, 10) a full collection ran every ~3,000 events, each one
walking every kept state (measured in process, ``python -m benchmarks.features.cpu``: 26 full
collections over 100,000 events, 7.2 s of 28 s CPU, pauses up to 0.6 s: both the CPU per event
and the freshness tail), yet the collections found almost nothing to free (~650 objects in
cycles over 40,000 events). So:

- what start-up built (modules, definitions, plans, clients) is frozen out of the collections;
- a young collection only every ``YOUNG_THRESHOLD`` new containers (tens of ms each), an older
  one every 20 of those and a full one every 10 of those (about every 10 million: minutes at
  1,000 events/s), which still frees the rare cycles.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
OLDER_EVERY = 20
FULL_EVERY = 10


def tune_collector() -> None:
    """Freeze what exists now, then collect rarely (call once, after start-up)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, OLDER_EVERY, FULL_EVERY)
