"""The pure parts of `interstore bench api`: parameters, vegeta reports, the rate ladder, what
limits a rate, targets, the result file and its tables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.common import BenchResult, Ceiling, Target, figures_table, ratio

SINGLE_P99_TARGET_MS = 5.0
BATCH_P99_TARGET_MS = 20.0
KEPT_RATE = 0.95
"""A step counts only if the load generator really sent this share of the rate asked."""
CPU_BOUND = 0.85
"""A process busy this share of its cores (or the host this share of its CPU) is saturated."""
ENDPOINTS = ("single", "batch")
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
    api_processes: int = 1
    """``interstore api`` daemons, each on its own port; vegeta alternates between them."""
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
        counts = (self.batch_size, self.limit, self.max_steps, self.api_processes, self.partitions)
        if min(counts) < 1:
            raise ValueError("batch size, limit, steps, API processes and partitions must be >= 1")
        if self.interactions_per_user < self.limit:
            raise ValueError("each live user needs at least `limit` interactions")
        if self.step_factor <= 1:
            raise ValueError("the step factor must be over 1")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class VegetaReport:
    """``vegeta report -type=json``: latencies in nanoseconds, rates per second."""

    requests: int
    rate: float
    """Requests/s the attacker actually sent."""
    throughput: float
    """Successful requests/s, counted until the last answer."""
    success: float
    latencies_ns: Mapping[str, int]
    status_codes: Mapping[str, int]
    errors: Sequence[str]
    wanted_rate: float = 0.0

    @classmethod
    def parse(cls, text: str, wanted_rate: float = 0.0) -> VegetaReport:
        data = json.loads(text)
        return cls(
            requests=int(data["requests"]),
            rate=float(data["rate"]),
            throughput=float(data["throughput"]),
            success=float(data["success"]),
            latencies_ns={key: int(value) for key, value in data["latencies"].items()},
            status_codes={str(k): int(v) for k, v in (data.get("status_codes") or {}).items()},
            errors=list(data.get("errors") or []),
            wanted_rate=wanted_rate,
        )

    def ms(self, key: str) -> float:
        return round(self.latencies_ns[key] / 1e6, 3)

    @property
    def not_2xx(self) -> int:
        """Answers outside 2xx, and requests with no answer (vegeta's status 0)."""
        return sum(n for code, n in self.status_codes.items() if not code.startswith("2"))

    @property
    def all_ok(self) -> bool:
        return self.requests > 0 and self.success >= 1.0 and self.not_2xx == 0

    @property
    def kept_rate(self) -> bool:
        return self.rate >= KEPT_RATE * self.wanted_rate

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "rate_wanted": self.wanted_rate,
            "rate_sent": round(self.rate, 1),
            "throughput": round(self.throughput, 1),
            "success": self.success,
            "status_codes": dict(self.status_codes),
            "not_2xx": self.not_2xx,
            "errors": list(self.errors[:5]),
            "p50_ms": self.ms("50th"),
            "p90_ms": self.ms("90th"),
            "p99_ms": self.ms("99th"),
            "max_ms": self.ms("max"),
            "mean_ms": self.ms("mean"),
        }


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

    def to_json(self) -> dict[str, Any]:
        return {**self.report.figures(), **self.cpu, "passed": self.passed}


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


def api_targets(single: Step, batch: Step) -> list[Target]:
    """p99 under the ceilings, at the phases' rates, with every request answered 2xx."""
    ok = single.report.all_ok and batch.report.all_ok
    return [
        Ceiling(
            f"one hot user p99 at {single.report.wanted_rate:,.0f} req/s",
            single.p99_ms, SINGLE_P99_TARGET_MS, "ms",
        ),
        Ceiling(
            f"batch of 50 p99 at {batch.report.wanted_rate:,.0f} req/s",
            batch.p99_ms, BATCH_P99_TARGET_MS, "ms",
        ),
        Target("requests answered 2xx", 1.0 if ok else 0.0, 1.0, "ratio"),
    ]  # fmt: skip


def build_result(
    params: ApiParams,
    figures: Mapping[str, Any],
    floors: Mapping[str, Mapping[str, Any]],
    targets: Sequence[Target],
    host: Mapping[str, Any],
) -> BenchResult:
    """``figures[endpoint]["at_rate"]`` against ``floors[endpoint]["raw"]``: the headline ratio
    is the one-hot-user p99 over the raw floor's p99."""
    ratios = {}
    for endpoint in ENDPOINTS:
        api, raw = figures[endpoint]["at_rate"], floors[endpoint]["raw"]
        for q in ("p50", "p99"):
            ratios[f"{endpoint}_{q}"] = round(ratio(api[f"{q}_ms"], raw[f"{q}_ms"]), 2)
    return BenchResult(
        name="api",
        params=params.to_json(),
        figures={**figures, "ratios": ratios, "targets": [t.to_json() for t in targets]},
        baseline={
            **floors,
            "method": "the same Redis reads (RedisHotStore.recent_commands: one `recent` Lua "
            "script per user, merging the kinds' views in Redis, in one pipeline) with redis-py "
            "asyncio + hiredis on uvloop in a process of its own, open loop at the phase's rate; "
            "`raw` without decoding, `store` is RedisHotStore.recent_json_many (decoding the "
            "members into the API's shape)",
        },
        ratio=ratios["single_p99"],
        host=host,
    )


def _row(label: str, f: Mapping[str, Any]) -> list[str]:
    cores = f.get("cpu_cores", {})
    return [
        label, f"{f.get('rate_wanted', 0):,.0f}", f"{f['p50_ms']:.2f}", f"{f['p90_ms']:.2f}",
        f"{f['p99_ms']:.2f}", f"{f['max_ms']:.1f}", f"{f['success']:.2%}",
        f"{cores.get('api', 0):.2f}", f"{f.get('host_cpu_busy', 0):.0%}",
    ]  # fmt: skip


def render(result: BenchResult) -> list[Any]:
    figures, floors = result.figures, result.baseline
    columns = ("phase", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "2xx", "API cores", "host")
    rows = []
    for endpoint, label in (("single", "one hot user"), ("batch", "batch of 50")):
        rows.append(_row(f"API: {label}", figures[endpoint]["at_rate"]))
        rows.append(_row(f"floor raw: {label}", floors[endpoint]["raw"]))
        rows.append(_row(f"floor store: {label}", floors[endpoint]["store"]))
    tables = [figures_table("interstore bench api (under ingest)", columns, rows)]
    for endpoint in ENDPOINTS:
        ladder = figures[endpoint]["ladder"]
        steps = [_row(f"step {n}", step) for n, step in enumerate(ladder["steps"], 1)]
        for row, step in zip(steps, ladder["steps"], strict=True):
            row[0] += " pass" if step["passed"] else " FAIL"
        title = (
            f"{endpoint}: max sustainable {ladder['max_sustainable_rps']:,.0f} req/s "
            f"(keeps up to {ladder['max_keeping_up_rps']:,.0f}); limited by: {ladder['limited_by']}"
        )
        tables.append(figures_table(title, columns, steps))
    return tables
