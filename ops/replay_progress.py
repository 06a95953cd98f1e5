"""A replay's progress: a rich bar per partition (done / total, events/s, ETA) on a terminal;
elsewhere one line every few seconds."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ops.replay_plan import PartitionRange


class EventsPerSecond(TransferSpeedColumn):
    def render(self, task):  # type: ignore[no-untyped-def]
        speed = task.finished_speed or task.speed
        return f"{0 if speed is None else speed:,.0f} events/s"


class ReplayProgress:
    def __init__(
        self, ranges: Sequence[PartitionRange], console: Console, *, every_s: float
    ) -> None:
        self.console = console
        self.every_s = every_s
        self.total = sum(r.remaining for r in ranges)
        self.done = 0
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar: Progress | None = None
        self._tasks: dict[tuple[str, int], TaskID] = {}
        if console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                EventsPerSecond(), TimeRemainingColumn(), console=console,
            )  # fmt: skip
            self._all = self._bar.add_task("all", total=self.total)
            for r in ranges:
                if r.remaining:
                    name = f"{r.topic}[{r.partition}]"
                    self._tasks[(r.topic, r.partition)] = self._bar.add_task(
                        name, total=r.remaining
                    )

    def __enter__(self) -> ReplayProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, per_partition: dict[tuple[str, int], int]) -> None:
        """Offsets done since the last call, per partition."""
        step = sum(per_partition.values())
        self.done += step
        if self._bar is not None:
            self._bar.advance(self._all, step)
            for tp, count in per_partition.items():
                if tp in self._tasks:
                    self._bar.advance(self._tasks[tp], count)
            return
        now = time.monotonic()
        if now - self._last_line >= self.every_s:
            self._last_line = now
            self.console.print(self.line(now), highlight=False)

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self, now: float) -> str:
        rate = self.rate(now)
        left = self.total - self.done
        eta = f"{left / rate:,.0f}s" if rate > 0 else "?"
        share = 100 * self.done / self.total if self.total else 100.0
        return (
            f"replay: {self.done:,}/{self.total:,} offsets ({share:.0f}%), "
            f"{rate:,.0f} events/s, {left:,} remaining, ETA {eta}"
        )
