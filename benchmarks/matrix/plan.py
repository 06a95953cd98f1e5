"""The pure parts of `interstore bench matrix`: parameters, targets and the result file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.harness.figures import Ceiling, Target, ratio
from benchmarks.harness.results import BenchResult

P99_30_MS = 5.0
P99_500_MS = 25.0
FEAST_RATIO = 5.0
RANK_PREDICTIONS_PER_S = 5_000.0
RANK_P99_MS = 71.0


@dataclass(frozen=True, slots=True)
class MatrixParams:
    sizes: tuple[int, ...] = (30, 100, 500)
    rates: tuple[float, ...] = (100.0, 50.0, 20.0)
    """Requests/s of each size's open-loop phase."""
    rank_rate: float = 170.0
    """:rank requests/s at 30 candidates (170 x 30 = 5,100 predictions/s: the target's rate)."""
    duration_s: float = 15.0
    feast_rates: tuple[float, ...] = (10.0, 20.0, 30.0, 45.0, 60.0, 80.0, 100.0)
    """Feast's ladder at 100 rows, up to the first rate it does not keep up with."""
    feast_step_s: float = 8.0
    users: int = 200
    products: int = 10_000
    categories: int = 100
    micro_batch: int = 50
    deadline_ms: int = 200
    seed: int = 42
    feast_venv: str | None = None
    """Feast's own virtualenv (made with pip if missing); None: no Feast phase."""

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.rates) or 30 not in self.sizes or 100 not in self.sizes:
            raise ValueError("one rate per size; sizes must include 30 and 100")
        if min(self.rates) <= 0 or self.duration_s <= 0 or self.rank_rate <= 0:
            raise ValueError("rates and durations must be positive")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def keeping_up(figures: dict[str, Any], max_p99_ms: float = 1_000.0) -> bool:
    """Every request answered 2xx, the rate really sent, no queue building up."""
    return bool(
        figures["requests"] > 0
        and figures["not_2xx"] == 0
        and figures["rate_sent"] >= 0.95 * figures["rate_wanted"]
        and figures["p99_ms"] <= max_p99_ms
    )


def targets(figures: dict[str, Any]) -> list[Target]:
    matrix, rank, feast = figures["matrix"], figures["rank_30"], figures["feast"]
    found: list[Target] = [
        Ceiling("matrix p99 at 30 candidates", matrix["30"]["p99_ms"], P99_30_MS, "ms")
    ]
    if "500" in matrix:
        found.append(
            Ceiling("matrix p99 at 500 candidates", matrix["500"]["p99_ms"], P99_500_MS, "ms")
        )
    if feast.get("ratio") is not None:
        found.append(
            Target("Feast p99 / interstore p99 at 100, same rate", feast["ratio"], FEAST_RATIO, "x")
        )
    found.append(
        Target(":rank predictions/s at 30", rank["predictions_per_s"], RANK_PREDICTIONS_PER_S)
    )
    found.append(Ceiling(":rank p99 at 30", rank["p99_ms"], RANK_P99_MS, "ms"))
    return found


def build_result(
    params: MatrixParams, figures: dict[str, Any], floor: dict[str, Any], host: dict[str, Any]
) -> BenchResult:
    feast = figures["feast"]
    headline = feast.get("ratio")
    if headline is None:  # no Feast phase: interstore's p99 at 100 over the floor's
        headline = ratio(figures["matrix"]["100"]["p99_ms"], floor["100"]["p99_ms"])
    found = targets(figures)
    figures = {**figures, "targets": [t.to_json() for t in found]}
    baseline = {"raw_mget_floor": floor, "feast": feast}
    return BenchResult("matrix", params.to_json(), figures, baseline, round(headline, 3), host)
