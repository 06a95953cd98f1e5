"""The parameters of `interstore bench api` and the constants its steps are judged by."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SINGLE_P99_TARGET_MS = 5.0
BATCH_P99_TARGET_MS = 20.0
KEPT_RATE = 0.95
"""A step counts only if the load generator really sent this share of the rate asked."""
CPU_BOUND = 0.85
"""A process busy this share of its cores (or the host this share of its CPU) is saturated."""
ENDPOINTS = ("single", "spread", "batch")
"""The phases at a fixed rate: one hot user; the batch phase's 50 users read one per request, in
turn (so no two requests in flight ask for one user: what coalescing cannot save); batches."""
LADDERS = ("single", "batch")
KEEPING_UP_P99_MS = 100.0
"""A rate the API keeps up with: every request answered 2xx, all sent, p99 under this (no queue
building up). The ladder climbs while the API keeps up, past the first rate over the target."""


@dataclass(frozen=True, slots=True)
class ApiParams:
    ingest_rate: float = 1_000.0
    """Events/s of other users' traffic through the worker during every phase."""
    rate: float = 1_000.0
    """Requests/s of the one-hot-user phase (the target's rate)."""
    batch_size: int = 50
    batch_rate: float = 20.0
    """Requests/s of the batch phase: the same 1,000 user reads/s, 50 per request."""
    limit: int = 100
    interactions_per_user: int = 150
    """Produced per live user after its app_open (all kinds): a limit-100 read returns 100."""
    duration_s: float = 20.0
    step_s: float = 8.0
    single_from: float = 100.0
    batch_from: float = 2.0
    step_factor: float = 1.25
    max_steps: int = 16
    api_processes: tuple[int, ...] = (1,)
    """``interstore api`` daemons, each on its own port, vegeta alternating between them: the
    whole run with the first count; the one-hot-user phase and ladder again with each other."""
    warmup_s: float = 5.0
    profile_rate: float = 300.0
    """Requests/s of the profiled attack (``--profile-dir``): a rate the API sustains, so the
    profile shows the cost of a request rather than of a backlog."""
    partitions: int = 12
    seed: int = 42

    def __post_init__(self) -> None:
        rates = (self.ingest_rate, self.rate, self.batch_rate, self.single_from, self.batch_from)
        if min(rates) <= 0 or min(self.duration_s, self.step_s) <= 0:
            raise ValueError("rates and durations must be positive")
        counts = (self.batch_size, self.limit, self.max_steps, *self.api_processes, self.partitions)
        if not self.api_processes or min(counts) < 1:
            raise ValueError("batch size, limit, steps, API processes and partitions must be >= 1")
        if self.interactions_per_user < self.limit:
            raise ValueError("each live user needs at least `limit` interactions")
        if self.step_factor <= 1:
            raise ValueError("the step factor must be over 1")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "api_processes": list(self.api_processes)}
