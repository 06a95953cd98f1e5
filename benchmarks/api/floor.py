"""The floor of `interstore bench api`: the Redis reads the API makes for a request, made
directly with redis-py asyncio (hiredis parser) on uvloop, in a process of its own (so that it
shares no event loop with the benchmark), open loop at a constant rate like vegeta.

``raw``: ``RedisHotStore.recent_commands`` (one ``recent`` script per user) in one pipeline,
replies not decoded (each user checked live); ``store``: ``RedisHotStore.recent_json_many``,
which also decodes the ``limit`` members into the API's shape (what the API's handler gets).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.harness.errors import BenchError
from benchmarks.harness.figures import percentile
from core.clock import wall_clock_ms
from core.settings import Settings
from store.interactions import INTERACTION_KINDS
from store.redis_hot import RedisHotStore

FLOOR_MODES = ("raw", "store")
FLOOR_TIMEOUT_S = 120.0


def floor_figures(
    seconds: Sequence[float], errors: Sequence[str], wanted_rate: float, sent_s: float,
    lag_max_s: float, cpu_s: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """The floor's figures, shaped like a vegeta report's (milliseconds), and its process's CPU
    per request (microseconds: the reads, their scheduling and the pacing loop)."""
    requests = len(seconds) + len(errors)
    figures: dict[str, Any] = {
        "cpu_per_request_us": round(1e6 * cpu_s / requests, 1) if requests else 0.0,
        "requests": requests,
        "rate_wanted": wanted_rate,
        "rate_sent": round(requests / sent_s, 1) if sent_s > 0 else 0.0,
        "success": len(seconds) / requests if requests else 0.0,
        "errors": list(errors[:5]),
        "schedule_lag_max_ms": round(1000 * lag_max_s, 3),
    }
    if seconds:
        for name, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
            figures[name] = round(1000 * percentile(seconds, q), 3)
        figures["max_ms"] = round(1000 * max(seconds), 3)
        figures["mean_ms"] = round(1000 * sum(seconds) / len(seconds), 3)
    return figures


async def _floor(
    settings: Settings, prefix: str, requests: Sequence[Sequence[str]], limit: int,
    rate: float, duration_s: float, mode: str,
) -> dict[str, Any]:  # fmt: skip
    hot = RedisHotStore(settings.redis, settings.session, settings.retention, prefix=prefix)
    seconds: list[float] = []
    errors: list[str] = []

    async def raw(users: Sequence[str]) -> None:
        commands = hot.recent_commands(users, INTERACTION_KINDS, limit, None, wall_clock_ms())
        async with hot.client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            replies = await pipe.execute()
        if missing := sum(reply is None for reply in replies):
            raise BenchError(f"{missing} of {len(users)} users not live")

    async def store(users: Sequence[str]) -> None:
        found = await hot.recent_json_many(users, limit=limit)
        if len(found) != len(users) or any(len(items) != limit for items in found.values()):
            raise BenchError("a user not live or without `limit` interactions")

    read = raw if mode == "raw" else store

    async def one(users: Sequence[str]) -> None:
        began = time.perf_counter()
        try:
            await read(users)
        except Exception as exc:  # noqa: BLE001 - counted and reported, like vegeta's errors
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        seconds.append(time.perf_counter() - began)

    try:
        for users in requests[:20]:  # connections opened before the clock starts
            await read(users)
        tasks: set[asyncio.Task[None]] = set()
        total, lag_max = round(rate * duration_s), 0.0
        started, cpu_began = time.perf_counter(), time.process_time()
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag_max = max(lag_max, -delay)
            task = asyncio.create_task(one(requests[index % len(requests)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent_s = time.perf_counter() - started
        await asyncio.gather(*tasks)
        cpu_s = time.process_time() - cpu_began
    finally:
        await hot.close()
    return floor_figures(seconds, errors, rate, sent_s, lag_max, cpu_s)


def floor_main(
    settings: Settings, prefix: str, requests: Sequence[Sequence[str]], limit: int,
    rate: float, duration_s: float, mode: str, out: Any,
) -> None:  # fmt: skip
    import uvloop

    try:
        figures = uvloop.run(_floor(settings, prefix, requests, limit, rate, duration_s, mode))
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises
        out.send({"failed": f"{type(exc).__name__}: {exc}"})
    else:
        out.send(figures)


def run_floor(
    settings: Settings, prefix: str, requests: Sequence[Sequence[str]], limit: int,
    rate: float, duration_s: float, mode: str,
) -> dict[str, Any]:  # fmt: skip
    """``floor_main`` in a spawned process; its figures, or BenchError."""
    if mode not in FLOOR_MODES:
        raise ValueError(f"floor mode is one of {FLOOR_MODES}")
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    args = (settings, prefix, [list(r) for r in requests], limit, rate, duration_s, mode, send)
    proc = context.Process(target=floor_main, args=args, name=f"bench-floor-{mode}", daemon=True)
    proc.start()
    try:
        if not receive.poll(duration_s + FLOOR_TIMEOUT_S):
            raise BenchError(f"the {mode} floor gave no figures (exit code {proc.exitcode})")
        figures: dict[str, Any] = receive.recv()
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=10)
    if "failed" in figures:
        raise BenchError(f"the {mode} floor failed: {figures['failed']}")
    return figures
