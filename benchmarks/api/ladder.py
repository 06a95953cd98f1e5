"""The rate ladder of `interstore bench api`: rising rates, each a step judged against a p99
target, the highest rate passed and kept up with, and what limited it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.api.plan import CPU_BOUND, KEEPING_UP_P99_MS
from benchmarks.api.vegeta import VegetaReport


def nice(value: float) -> float:
    """Two significant digits: 1234 -> 1200, 48.8 -> 49."""
    if value <= 0:
        raise ValueError("rates are positive")
    return float(f"{value:.2g}")


def rate_ladder(start: float, factor: float, steps: int) -> list[float]:
    """``steps`` rising rates from ``start``, each about ``factor`` times the last, rounded."""
    rates: list[float] = []
    current = start
    while len(rates) < steps:
        rounded = nice(current)
        if not rates or rounded > rates[-1]:
            rates.append(rounded)
        current *= factor
    return rates


@dataclass(frozen=True, slots=True)
class Step:
    report: VegetaReport
    target_ms: float
    cpu: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.report.all_ok and self.report.kept_rate and self.p99_ms <= self.target_ms

    @property
    def keeping_up(self) -> bool:
        return self.report.all_ok and self.report.kept_rate and self.p99_ms <= KEEPING_UP_P99_MS

    @property
    def p99_ms(self) -> float:
        return self.report.ms("99th")

    @property
    def api_cpu_per_request_us(self) -> float:
        """The API processes' CPU over the phase per request sent (microseconds)."""
        seconds = float(self.cpu.get("measured_s", 0.0))
        requests = self.report.requests
        return 1e6 * api_cores(self.cpu) * seconds / requests if requests else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            **self.report.figures(),
            **self.cpu,
            "api_cpu_per_request_us": round(self.api_cpu_per_request_us, 1),
            "passed": self.passed,
        }


def api_cores(cpu: Mapping[str, Any]) -> float:
    cores: Mapping[str, float] = cpu.get("cpu_cores", {})
    return float(cores.get("api", 0.0))


def limited_by(step: Step | None, api_processes: int, cpu_count: int) -> str:
    """Why ``step`` (the first rate that failed) failed, from its report and the CPU meanwhile."""
    if step is None:
        return "not reached: every rate of the ladder passed"
    report, reasons = step.report, []
    if not report.all_ok:
        reasons.append(f"failed requests: status {dict(report.status_codes)}, {report.errors[:2]}")
    if not report.kept_rate:
        reasons.append(f"the load generator sent {report.rate:.0f}/s of {report.wanted_rate:.0f}/s")
    if step.p99_ms > step.target_ms:
        reasons.append(f"p99 {step.p99_ms:.1f} ms over {step.target_ms:g} ms")
    busy = float(step.cpu.get("host_cpu_busy", 0.0))
    api = api_cores(step.cpu)
    if api >= CPU_BOUND * api_processes:
        reasons.append(
            f"the API is CPU-bound ({api:.2f} cores in {api_processes} process(es): uvicorn "
            "runs one event loop per process)"
        )
    if busy >= CPU_BOUND:
        reasons.append(f"the host's {cpu_count} cores are {busy:.0%} busy")
    if api < CPU_BOUND * api_processes and busy < CPU_BOUND:
        reasons.append(f"no CPU saturated (API {api:.2f} cores, host {busy:.0%} busy): the tail")
    return "; ".join(reasons)


def _before_first(steps: Sequence[Step], ok: str) -> tuple[float, Step | None]:
    """The highest rate before the first step that is not ``ok``, and that step."""
    best = 0.0
    for step in steps:
        if not getattr(step, ok):
            return best, step
        best = step.report.wanted_rate
    return best, None


def ladder_json(steps: Sequence[Step], api_processes: int, cpu_count: int) -> dict[str, Any]:
    """The steps; the highest rate passed (p99 under the target, every request 2xx) before the
    first failure, and what stopped it; the highest rate the API kept up with."""
    sustainable, failed = _before_first(steps, "passed")
    keeping_up, _ = _before_first(steps, "keeping_up")
    return {
        "max_sustainable_rps": sustainable,
        "limited_by": limited_by(failed, api_processes, cpu_count),
        "max_keeping_up_rps": keeping_up,
        "keeping_up_means": f"all 2xx, the rate sent in full, p99 <= {KEEPING_UP_P99_MS:g} ms",
        "steps": [step.to_json() for step in steps],
    }
