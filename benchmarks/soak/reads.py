"""The soak's API reader: recent interactions of random soak users (one user, or a batch of ten
every fifth request) at a steady rate, each answer's status and latency kept for the phases."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import httpx

from benchmarks.harness.figures import percentile

TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """``time.monotonic()`` when the request was sent."""
    status: int
    """The HTTP status, 0 if no answer came (refused, reset, timed out)."""
    latency_s: float

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 500


class Reads(threading.Thread):
    def __init__(self, base_url: str, key: str, users: list[str], per_s: float, seed: int):
        super().__init__(name="soak-reads", daemon=True)
        self._client = httpx.Client(
            base_url=base_url, headers={"X-API-Key": key}, timeout=TIMEOUT_S
        )
        self._users = users
        self._period = 1 / per_s
        self._rng = random.Random(seed)
        self.samples: list[Sample] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            self.samples.append(self._one(n))
            n += 1
            self.stop.wait(max(0.0, self._period - (time.monotonic() - started)))
        self._client.close()

    def _one(self, n: int) -> Sample:
        started = time.monotonic()
        try:
            if n % 5 == 4:
                users = self._rng.sample(self._users, 10)
                answer = self._client.post(
                    "/v1/interactions:batchGet", json={"user_ids": users, "limit": 20}
                )
            else:
                user = self._rng.choice(self._users)
                answer = self._client.get(f"/v1/users/{user}/interactions", params={"limit": 20})
            status = answer.status_code
        except httpx.HTTPError:
            status = 0
        return Sample(started, status, time.monotonic() - started)


def phase_figures(samples: list[Sample], start: float, end: float) -> dict[str, float | int]:
    """Requests sent in [start, end): how many, the share that failed (5xx or no answer), and
    the latency p50/p99 in ms of them all."""
    inside = [s for s in samples if start <= s.at < end]
    latencies = [s.latency_s * 1000 for s in inside]
    failed = sum(s.failed for s in inside)
    return {
        "requests": len(inside),
        "failed": failed,
        "error_rate": round(failed / len(inside), 4) if inside else 0.0,
        "p50_ms": round(percentile(latencies, 0.5), 2) if latencies else 0.0,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else 0.0,
    }
