"""The targets, result and tables of one `interstore bench api` run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.api.ladder import Step
from benchmarks.api.plan import (
    BATCH_P99_TARGET_MS,
    ENDPOINTS,
    LADDERS,
    SINGLE_P99_TARGET_MS,
    ApiParams,
)
from benchmarks.harness.figures import Ceiling, Target, figures_table, ratio
from benchmarks.harness.results import BenchResult


def api_targets(single: Step, batch: Step, floors: Mapping[str, Mapping[str, Any]]) -> list[Target]:
    """At the phases' rates: p99 under the ceilings; every request answered 2xx or shed at once
    with a 503 (issue 15), none unanswered; the one-hot-user p99 of its 2xx answers (not
    flattered by fast 503s) within 3x the raw floor's in the same run, and the API's CPU per
    request within 2x the floor's (the `store` floor: the same reads decoded into the API's
    shape)."""
    raw, store = floors["single"]["raw"], floors["single"]["store"]
    shed_ok = single.report.answered_or_shed and batch.report.answered_or_shed
    return [
        Ceiling(
            f"one hot user p99 at {single.report.wanted_rate:,.0f} req/s",
            single.p99_ms, SINGLE_P99_TARGET_MS, "ms",
        ),
        Ceiling(
            f"batch of 50 p99 at {batch.report.wanted_rate:,.0f} req/s",
            batch.p99_ms, BATCH_P99_TARGET_MS, "ms",
        ),
        Target("requests answered 2xx or shed with 503", 1.0 if shed_ok else 0.0, 1.0, "ratio"),
        Ceiling(
            "one hot user p99 of 2xx answers / raw floor p99",
            ratio(single.report.by_status.get("2xx", {}).get("p99_ms", 0.0), raw["p99_ms"]), 3.0,
        ),
        Ceiling(
            "one hot user API CPU per request / floor's",
            ratio(single.api_cpu_per_request_us, store.get("cpu_per_request_us", 0.0)), 2.0,
        ),
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
    cpu_us = f.get("api_cpu_per_request_us", f.get("cpu_per_request_us", 0.0))
    return [
        label, f"{f.get('rate_wanted', 0):,.0f}", f"{f['p50_ms']:.2f}", f"{f['p90_ms']:.2f}",
        f"{f['p99_ms']:.2f}", f"{f.get('p99_2xx_ms', f['p99_ms']):.2f}", f"{f['max_ms']:.1f}",
        f"{f.get('share_2xx', f['success']):.2%}",
        f"{f.get('share_503', 0.0):.2%}", f"{cpu_us:,.0f}", f"{cores.get('api', 0):.2f}",
        f"{f.get('host_cpu_busy', 0):.0%}",
    ]  # fmt: skip


def render(result: BenchResult) -> list[Any]:
    figures, floors = result.figures, result.baseline
    columns = (
        "phase", "req/s", "p50 ms", "p90 ms", "p99 ms", "2xx p99", "max ms", "2xx", "503",
        "CPU us/req",
        "API cores", "host",
    )  # fmt: skip
    rows = []
    for endpoint, label in (
        ("single", "one hot user"),
        ("spread", "50 users in turn"),
        ("batch", "batch of 50"),
    ):
        rows.append(_row(f"API: {label}", figures[endpoint]["at_rate"]))
        rows.append(_row(f"floor raw: {label}", floors[endpoint]["raw"]))
        rows.append(_row(f"floor store: {label}", floors[endpoint]["store"]))
    tables = [figures_table("interstore bench api (under ingest)", columns, rows)]
    for endpoint in LADDERS:
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
