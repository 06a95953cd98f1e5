"""The worker's consumer lag during an app-open phase of `bench hydrate`: sampled from its
/metrics (``interstore_consumer_lag``, which the worker refreshes every 5 s) on a thread of its
own, and whether it stayed bounded: at the end no more than ``LAG_BOUND`` messages or 1.5x what
it was at the start (a worker that keeps up drains what piles up; one that does not falls
further behind for as long as the phase lasts)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from benchmarks.hydrate.scrapes import consumer_lag

LAG_BOUND = 2_000
"""Messages: two seconds of the default background traffic."""
SAMPLE_S = 1.0


def lag_bounded(start: int, end: int) -> bool:
    return end <= max(LAG_BOUND, int(1.5 * start))


class LagSampler:
    """``with LagSampler(worker.metrics) as lag: ...``; then ``lag.figures()``."""

    def __init__(self, scrape: Callable[[], str]) -> None:
        self.scrape = scrape
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-sampler", daemon=True)

    def _sample(self) -> None:
        with contextlib.suppress(OSError):  # a scrape that failed: the next one counts
            self.samples.append(consumer_lag(self.scrape()))

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self._sample()

    def __enter__(self) -> LagSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._sample()

    def figures(self) -> dict[str, Any]:
        start, end = (self.samples[0], self.samples[-1]) if self.samples else (0, 0)
        return {
            "start": start,
            "max": max(self.samples, default=0),
            "end": end,
            "samples": len(self.samples),
            "bounded": lag_bounded(start, end),
            "bound_means": f"at the end <= max({LAG_BOUND:,}, 1.5 x at the start) messages",
        }
