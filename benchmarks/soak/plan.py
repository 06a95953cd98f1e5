"""The soak's parameters and its phases: one fault each, in turn, between a steady start and a
recovery; the API's error rate and p99 are reported per phase."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PHASES = (
    "steady",
    "redis_oom",
    "redis_restart",
    "cassandra_pause",
    "worker_kill",
    "poison",
    "recovery",
)
"""In this order. A fault is applied at its phase's start and lifted after ``fault_s``; the
rest of the phase is the system catching up under the same label."""


@dataclass(frozen=True, slots=True)
class SoakParams:
    duration_s: float
    rate: float = 150.0
    """Events produced per second (app_opens included)."""
    users: int = 300
    session_share: float = 0.5
    """Users with sessions (an app_open before their interactions, again after each idle gap);
    the others never open one (their interactions are written through to the cold tier)."""
    reads_per_s: float = 20.0
    poison: int = 60
    partitions: int = 4
    session_idle_s: int = 5
    seed: int = 7

    @property
    def phase_s(self) -> float:
        return self.duration_s / len(PHASES)

    @property
    def fault_s(self) -> float:
        """How long a fault lasts: half a phase, at most 30 s."""
        return min(self.phase_s / 2, 30.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"phases": list(PHASES), "phase_s": self.phase_s}
