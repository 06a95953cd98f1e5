"""The pure parts of `interstore bench ingest`: parameters, the workload, a measurement's
figures, the targets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks.harness.figures import Target, per_second
from benchmarks.ingest.verify import Verification
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from streams.outgoing import OutgoingEvent, prepare_event

HOUR_MS = 3_600_000
BASELINE_WRITES = ("batches", "singles")
WRITE_THROUGH_TARGET = 5_000.0


@dataclass(frozen=True, slots=True)
class IngestParams:
    events: int = 100_000
    users: int = 10_000
    partitions: int = 12
    seed: int = 42
    spread_hours: float = 2.0
    """Event timestamps run over this many hours, ending about now."""
    baseline_writes: str = "batches"
    baseline_concurrency: int = 256
    baseline_consume_batch: int = 2_000
    workers: tuple[int, ...] = (1,)
    """``interstore worker`` processes in one consumer group: the session path is measured once
    per count (the scaling); the first count is the headline's and the write-through path's."""
    worker_first: bool = False

    def __post_init__(self) -> None:
        if not self.workers or min(self.events, self.users, self.partitions, *self.workers) < 1:
            raise ValueError("events, users, partitions and workers must be positive")
        if self.baseline_writes not in BASELINE_WRITES:
            raise ValueError(f"baseline writes are one of {BASELINE_WRITES}")

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "users": self.users,
            "partitions": self.partitions,
            "seed": self.seed,
            "spread_hours": self.spread_hours,
            "baseline_writes": self.baseline_writes,
            "baseline_concurrency": self.baseline_concurrency,
            "baseline_consume_batch": self.baseline_consume_batch,
            "workers": list(self.workers),
            "order": "worker first" if self.worker_first else "baseline first",
        }


@dataclass(frozen=True, slots=True)
class Workload:
    events: list[OutgoingEvent]
    kinds: Mapping[str, int]

    @property
    def interactions(self) -> int:
        """Events the cold tier stores a row for (every kind but app_open)."""
        return sum(count for kind, count in self.kinds.items() if kind != "app_open")

    def write_through(self) -> Workload:
        """The same events without the app_opens: no user has a session, so the worker writes
        every interaction straight to the cold tier."""
        events = [event for event in self.events if event.kind != "app_open"]
        kinds = {kind: count for kind, count in self.kinds.items() if kind != "app_open"}
        return Workload(events, kinds)


def build_workload(params: IngestParams, now_ms: int) -> Workload:
    """N deterministic events (for ``seed``) over the last ``spread_hours``, encoded once."""
    spread_ms = params.spread_hours * HOUR_MS
    codec = default_codec()
    events: list[OutgoingEvent] = []
    kinds: Counter[str] = Counter()
    generated = generate_events(
        params.users,
        params.events,
        params.seed,
        now_ms - int(spread_ms),
        mean_gap_ms=spread_ms * 0.98 / params.events,
    )
    for kind, record in generated:
        events.append(prepare_event(kind, record, now_ms=now_ms, codec=codec))
        kinds[kind] += 1
    return Workload(events, dict(sorted(kinds.items())))


@dataclass(slots=True)
class Measurement:
    name: str
    events: int
    expected_rows: int
    produce_s: float = 0.0
    total_s: float = 0.0
    stored: Verification | None = None
    """What the run stored, checked by event id (``benchmarks.ingest.verify``); None: not yet."""
    consumed: int = 0
    written: int = 0
    consumer_cpu_s: float = 0.0
    host_cpu_busy: float = 0.0
    """Share of all the host's CPUs busy (any process) between first produce and the end."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return per_second(self.events, self.total_s)

    @property
    def produce_events_per_s(self) -> float:
        return per_second(self.events, self.produce_s)

    @property
    def cpu_us_per_event(self) -> float:
        return 1e6 * self.consumer_cpu_s / self.events

    @property
    def rows_verified(self) -> int:
        """Distinct interactions produced that were found stored (-1: not checked yet)."""
        return self.stored.found if self.stored is not None else -1

    @property
    def verified(self) -> bool:
        return (
            self.stored is not None
            and self.stored.exact
            and self.stored.expected == self.expected_rows
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events_per_s, 1),
            "seconds": round(self.total_s, 3),
            "events": self.events,
            "rows_expected": self.expected_rows,
            "rows_verified": self.rows_verified,
            "rows_missing": self.stored.missing if self.stored else 0,
            "rows_duplicated": self.stored.duplicated if self.stored else 0,
            "rows_unexpected": self.stored.unexpected if self.stored else 0,
            "verified": self.verified,
            "events_consumed": self.consumed,
            "rows_counted": self.written,
            "produce_events_per_s": round(self.produce_events_per_s, 1),
            "produce_seconds": round(self.produce_s, 3),
            "consumer_cpu_seconds": round(self.consumer_cpu_s, 2),
            "consumer_cpu_us_per_event": round(self.cpu_us_per_event, 1),
            "host_cpu_busy": round(self.host_cpu_busy, 3),
            **({"stored": self.stored.to_json()} if self.stored else {}),
            **self.details,
        }


def ingest_targets(
    worker_events_per_s: float,
    worker_over_baseline: float,
    write_through_events_per_s: float | None = None,
) -> list[Target]:
    """The issues' targets: the worker at 60% of the raw limit or more, and 5,000 events/s on
    the session path and (when measured) on the write-through path."""
    targets = [
        Target("worker / raw limit >= 60%", worker_over_baseline, 0.6, "ratio"),
        Target("worker >= 5,000 events/s", worker_events_per_s, 5_000, "events/s"),
    ]
    if write_through_events_per_s is not None:
        targets.append(
            Target(
                "write-through >= 5,000 events/s",
                write_through_events_per_s,
                WRITE_THROUGH_TARGET,
                "events/s",
            )
        )
    return targets
