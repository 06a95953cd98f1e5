"""`bench api --api-processes 1,2`: the one-hot-user phase and its rate ladder with each count of
``interstore api`` processes, vegeta alternating between them (as a Kubernetes Service spreads
requests over the API's pods: one process per pod), under the same ingest.

Per count: p50/p99 at the phase's rate, the API's CPU per request (the sum over its processes)
and the highest rate kept up with. The first count is the main run's own phase and ladder."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.api.ladder import Step, api_cores, ladder_json, rate_ladder
from benchmarks.api.phases import Phases
from benchmarks.api.plan import SINGLE_P99_TARGET_MS, ApiParams
from benchmarks.api.vegeta import Request, Vegeta
from benchmarks.harness.cpu import GroupCpu
from benchmarks.harness.figures import figures_table
from benchmarks.harness.processes import running_apis
from benchmarks.harness.scratch import Scratch
from core.settings import Settings

WARMUP_ATTACK_S = 3.0


def single_requests(urls: Sequence[str], user: str, limit: int) -> list[Request]:
    """One GET per API process; vegeta takes them in turn."""
    return [Request("GET", f"{url}/v1/users/{user}/interactions?limit={limit}") for url in urls]


def scaling_entry(count: int, step: Step, ladder: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one count: the phase at its rate, CPU per request, the ladder's maxima."""
    figures = step.to_json()
    cores = api_cores(step.cpu)
    rate = step.report.rate
    return {
        "api_processes": count,
        "rate": figures["rate_wanted"],
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "success": figures["success"],
        "api_cores": round(cores, 3),
        "api_cpu_us_per_request": round(1e6 * cores / rate, 1) if rate else 0.0,
        "host_cpu_busy": step.cpu.get("host_cpu_busy", 0.0),
        "max_keeping_up_rps": ladder["max_keeping_up_rps"],
        "max_sustainable_rps": ladder["max_sustainable_rps"],
    }


@dataclass(frozen=True, slots=True)
class MoreProcesses:
    """What measuring another count needs from the main run: its names, key, hot user, the
    processes already named for the CPU groups, and the liveness check of the ingest."""

    scoped: Settings
    scratch: Scratch
    workdir: Path
    key: str
    hot_user: str
    named: Mapping[int, str]
    vegeta: Vegeta
    alive: Callable[[], None]


def measure_count(
    more: MoreProcesses, count: int, params: ApiParams, console: Console
) -> dict[str, Any]:
    """Start ``count`` API processes, attack at ``params.rate``, climb the ladder; stop them."""
    headers = {"X-API-Key": more.key}
    with running_apis(more.scoped, more.scratch, more.workdir, count, more.key) as apis:
        named = {**more.named, **{process.pid() or 0: "api" for process, _ in apis}}
        phases = Phases(GroupCpu(named), more.vegeta, more.alive, [url for _, url in apis])
        requests = single_requests([url for _, url in apis], more.hot_user, params.limit)
        phases.vegeta.attack(requests, headers, params.rate, WARMUP_ATTACK_S)  # not counted
        console.print(f"{count} API processes: one hot user at {params.rate:,.0f} req/s")
        step = phases.attack(
            requests, headers, params.rate, params.duration_s, SINGLE_P99_TARGET_MS
        )
        rates = rate_ladder(params.single_from, params.step_factor, params.max_steps)
        steps = phases.ladder(
            requests, headers, rates, params.step_s, SINGLE_P99_TARGET_MS, console,
            f"{count} API processes",
        )  # fmt: skip
    return scaling_entry(count, step, ladder_json(steps, count, os.cpu_count() or 1))


def scaling_table(scaling: Mapping[str, Any]) -> Any:
    columns = (
        "API processes", "req/s", "p50 ms", "p99 ms", "2xx", "API cores", "CPU us/request",
        "host busy", "kept up with req/s",
    )  # fmt: skip
    rows = [
        [
            str(f["api_processes"]),
            f"{f['rate']:,.0f}",
            f"{f['p50_ms']:.2f}",
            f"{f['p99_ms']:.2f}",
            f"{f['success']:.2%}",
            f"{f['api_cores']:.2f}",
            f"{f['api_cpu_us_per_request']:,.0f}",
            f"{f['host_cpu_busy']:.0%}",
            f"{f['max_keeping_up_rps']:,.0f}",
        ]
        for f in scaling.values()
    ]
    return figures_table("api, one hot user: API processes", columns, rows)
