"""The steps of `interstore bench api` (``benchmarks.api.run``): live users through the real
pipeline, measured phases with the CPU of each process group, the profile."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from benchmarks.api.ladder import Step
from benchmarks.api.plan import ApiParams
from benchmarks.api.vegeta import Request, Vegeta
from benchmarks.harness.cpu import GroupCpu, children_cpu_s
from benchmarks.harness.errors import BenchError
from benchmarks.harness.records import HISTORY_MIX, interaction_record, pick_kind
from core.clock import wall_clock_ms
from core.settings import Settings
from deploy.scrape import metric_sums_by, scrape
from store.redis_hot import RedisHotStore
from streams.producer import EventProducer

LIVE_TIMEOUT_S = 120.0
SETTLE_S = 2.0
"""Pause before each phase: what an overloaded phase left queued is served first."""


def produce_sessions(settings: Settings, topic: str, users: Sequence[str], p: ApiParams) -> None:
    """Per user an app_open, then ``interactions_per_user`` interactions (after it in the
    user's partition, so they go to the live session)."""
    rng, start = random.Random(p.seed), wall_clock_ms() - p.interactions_per_user
    with EventProducer(settings.kafka, topic) as producer:
        for user in users:
            opened = {"event_id": f"{user}-open", "user_id": user, "ts": start - 1}
            producer.send("app_open", opened | {"app_version": "5.4.0", "platform": "ios"})
            for n in range(p.interactions_per_user):
                kind = pick_kind(rng, HISTORY_MIX)
                producer.send(kind, interaction_record(kind, user, f"{user}-{n}", start + n, rng))


async def wait_live(
    settings: Settings, prefix: str, users: Sequence[str], limit: int, alive: Callable[[], None]
) -> None:
    """Until a limit-``limit`` hot read of every user returns ``limit`` interactions."""
    hot = RedisHotStore(settings.redis, settings.session, settings.retention, prefix=prefix)
    deadline = time.monotonic() + LIVE_TIMEOUT_S
    try:
        while True:
            alive()
            found = await hot.recent_many(users, limit=limit)
            short = [u for u in users if len(found.get(u, [])) < limit]
            if not short:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"{len(short)} users not live with {limit} interactions")
            await asyncio.sleep(0.2)
    finally:
        await hot.close()


CHECK_ATTEMPTS = 10
"""Tries of the answer check while the API sheds (its loop-lag limit trips on a busy host)."""


def check_answers(base: str, key: str, hot_user: str, batch: Sequence[str], limit: int) -> None:
    """One request of each kind answers every user from the hot tier with ``limit`` items."""
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for _ in range(CHECK_ATTEMPTS):  # a shed request (503 + Retry-After) is asked again
            one = client.get(f"/v1/users/{hot_user}/interactions", params={"limit": limit})
            many = client.post(
                "/v1/interactions:batchGet", json={"user_ids": batch, "limit": limit}
            )
            if 503 not in (one.status_code, many.status_code):
                break
            time.sleep(float(one.headers.get("retry-after") or many.headers.get("retry-after", 1)))
    answers = [one.json()] if one.status_code == 200 else []
    answers += many.json()["results"] if many.status_code == 200 else []
    good = [a for a in answers if a.get("source") == "hot" and len(a["interactions"]) == limit]
    if len(good) != 1 + len(batch):
        raise BenchError(f"API answers {one.status_code} {many.status_code}: not all hot x{limit}")


SHED = "interstore_api_shed_total"


class Phases:
    """Runs one measured phase at a time, with the CPU of each process group meanwhile and the
    requests the APIs at ``api_urls`` shed, per reason (from their ``/metrics``)."""

    def __init__(
        self, cpu: GroupCpu, vegeta: Vegeta, alive: Callable[[], None], api_urls: Sequence[str]
    ) -> None:
        self.cpu, self.vegeta, self.alive = cpu, vegeta, alive
        self.api_urls = tuple(api_urls)

    def shed(self) -> Counter[str]:
        """Requests shed so far by the APIs, per reason."""
        pages = [scrape(f"{url}/metrics") for url in self.api_urls]
        return Counter({r: int(n) for r, n in metric_sums_by(pages, SHED, "reason").items()})

    def _measured(self, run: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
        self.alive()
        time.sleep(SETTLE_S)
        self.cpu.start()
        began, children = time.monotonic(), children_cpu_s()
        result = run()
        usage = self.cpu.read()
        seconds = time.monotonic() - began
        usage["load_generator_cores"] = round((children_cpu_s() - children) / seconds, 2)
        usage["measured_s"] = round(seconds, 3)
        self.alive()
        return result, usage

    def attack(
        self, requests: Sequence[Request], headers: dict[str, str], rate: float,
        seconds: float, target_ms: float,
    ) -> Step:  # fmt: skip
        before = self.shed()
        report, usage = self._measured(lambda: self.vegeta.attack(requests, headers, rate, seconds))
        shed = self.shed() - before
        return Step(report, target_ms, {**usage, "shed_by_reason": dict(sorted(shed.items()))})

    def floor(self, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        figures, usage = self._measured(run)
        return {**figures, **usage}

    def ladder(
        self, requests: Sequence[Request], headers: dict[str, str], rates: Sequence[float],
        seconds: float, target_ms: float, console: Console, label: str,
    ) -> list[Step]:  # fmt: skip
        steps: list[Step] = []
        for rate in rates:
            step = self.attack(requests, headers, rate, seconds, target_ms)
            steps.append(step)
            verdict = "pass" if step.passed else "FAIL"
            console.print(f"{label} {rate:,.0f} req/s: p99 {step.p99_ms:.2f} ms, {verdict}")
            if not step.keeping_up:
                break
        return steps


def profile_api(
    api_pid: int, out: Path, phases: Phases, requests: Sequence[Request],
    headers: dict[str, str], rate: float, seconds: float,
) -> Path:  # fmt: skip
    """py-spy (sampling, non-blocking) on the API during one more attack; raw collapsed stacks."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"api-{int(rate)}rps.txt"
    spy = [
        str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(api_pid),
        "--duration", f"{seconds + 2:g}", "--rate", "200", "--nonblocking", "--format", "raw",
        "--output", str(path),
    ]  # fmt: skip
    with subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        time.sleep(1.0)
        phases.vegeta.attack(requests, headers, rate, seconds)
        _, err = proc.communicate(timeout=seconds + 60)
    if proc.returncode != 0:
        raise BenchError(f"py-spy failed: {err.decode(errors='replace')[-1000:]}")
    return path
