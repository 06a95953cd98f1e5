"""What `bench ingest` needs of a consumer under test (the raw baseline, the worker)."""

from __future__ import annotations

from typing import Any, NamedTuple

from core.settings import Settings


class Counts(NamedTuple):
    consumed: int
    written: int


class Consumer:
    """A consumer under test, run in processes of its own."""

    pids: list[int]
    """The processes doing the consuming (their CPU time is reported)."""
    keeps_sessions: bool = False
    """Whether it keeps live sessions in the hot tier (their dirty interactions are stored)."""

    def start(self) -> None:
        raise NotImplementedError

    def wait_ready(self) -> None:
        """Until the process can be watched (before its consumer group is checked)."""

    def alive(self) -> None:
        """Raise ``BenchError`` if the process died."""
        raise NotImplementedError

    def counts(self) -> Counts:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def batch_stats(self) -> dict[str, Any]:
        """How the consumer batched: batches and their mean size, from its own counts."""
        raise NotImplementedError

    def assignment(self) -> dict[str, str]:
        """The partitions each process holds (``"0,1,2"`` by process name), if it can tell."""
        return {}

    def log_tail(self) -> str:
        """What to show when the measurement failed."""
        return ""

    def clean_up(self, settings: Settings) -> None:
        """Remove what it left behind (data dirs, hot keys) once stopped and counted."""
