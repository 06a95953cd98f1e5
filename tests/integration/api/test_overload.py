"""An overloaded read API answers every request: 2xx, or at once a JSON 503 with Retry-After;
never a hang or a dropped connection. A real ``interstore api`` process (uvicorn, the shipped
server settings) on the real stack, overloaded two ways: its Redis slowed (through a TCP proxy)
while far more requests arrive than it may have in progress, and the process frozen (SIGSTOP,
as a long pause or a starved CPU would) while requests queue in front of it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from core.clock import wall_clock_ms
from core.settings import Settings
from deploy.app_processes import api_process, api_url, start_api
from deploy.process import ManagedProcess, free_port
from deploy.tcp_proxy import TcpProxy
from tests.integration.api.conftest import READ_KEY, Tiers
from tests.store_contract import click

USER = "overload-user"
ANSWER_WITHIN_S = 5.0
"""Every request is answered within this (vegeta's timeout in `bench api`)."""


@contextmanager
def api_daemon(
    settings: Settings, var_dir: Path, redis_url: str, **api_env: str
) -> Iterator[tuple[ManagedProcess, str]]:
    """``interstore api`` on a free port over the test's keyspace and Redis prefix."""
    port = free_port()
    served = settings.model_copy(
        update={
            "api": settings.api.model_copy(update={"port": port}),
            "stack": settings.stack.model_copy(update={"var_dir": var_dir}),
        }
    )
    env = {
        "INTERSTORE_API_PORT": str(port),
        "INTERSTORE_API_KEYS": json.dumps({READ_KEY: ["read:interactions"]}),
        "INTERSTORE_CASSANDRA_KEYSPACE": settings.cassandra.keyspace,
        "INTERSTORE_REDIS_KEY_PREFIX": settings.redis.key_prefix,
        "INTERSTORE_REDIS_URL": redis_url,
        "INTERSTORE_STACK_VAR_DIR": str(var_dir),
        **{f"INTERSTORE_API_{name.upper()}": value for name, value in api_env.items()},
    }
    process = api_process(served)
    try:
        start_api(served, env)
        yield process, api_url(served, "")
    finally:
        process.stop()


async def burst(base: str, count: int) -> list[httpx.Response | BaseException]:
    """``count`` reads of the live user at once, each on its own connection."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": READ_KEY}, limits=limits, timeout=ANSWER_WITHIN_S
    ) as client:
        gets = [client.get(f"/v1/users/{USER}/interactions") for _ in range(count)]
        return await asyncio.gather(*gets, return_exceptions=True)


async def unshed(base: str) -> list[int]:
    """The status of a liveness probe and of a metrics scrape."""
    async with httpx.AsyncClient(base_url=base, timeout=ANSWER_WITHIN_S) as client:
        answers = await asyncio.gather(client.get("/healthz"), client.get("/metrics"))
    return [answer.status_code for answer in answers]


def check_answered_or_shed(answers: Sequence[httpx.Response | BaseException]) -> dict[int, int]:
    """Every request answered 200 (the live user's interactions) or 503 in the API's JSON error
    shape with Retry-After; the count of each status."""
    failed = [repr(a) for a in answers if isinstance(a, BaseException)]
    assert not failed, f"{len(failed)} requests not answered, e.g. {failed[:3]}"
    counts: dict[int, int] = {}
    for answer in answers:
        assert isinstance(answer, httpx.Response)
        counts[answer.status_code] = counts.get(answer.status_code, 0) + 1
        if answer.status_code == 200:
            assert answer.json()["source"] == "hot"
            continue
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["error"]["code"] == "unavailable"
    return counts


async def seed(tiers: Tiers) -> None:
    now = wall_clock_ms()
    await tiers.live(USER, [click(f"e{n}", now - 1000 + n, USER) for n in range(20)], [])


async def test_slow_redis_and_a_burst_over_the_limit_shed_at_once(
    tiers: Tiers, api_settings: Settings, tmp_path: Path
) -> None:
    await seed(tiers)
    redis_port = int(api_settings.redis.url.rsplit(":", 1)[1].split("/")[0])
    with TcpProxy(redis_port) as proxy:
        redis_url = f"redis://127.0.0.1:{proxy.port}/0"
        with api_daemon(api_settings, tmp_path, redis_url, max_concurrency="4") as (_, base):
            assert check_answered_or_shed(await burst(base, 3)) == {200: 3}
            proxy.delay_s = 0.3  # each read now holds its slot for 0.3 s
            began = time.monotonic()
            counts = check_answered_or_shed(await burst(base, 300))
            took = time.monotonic() - began
            proxy.delay_s = 0.0
            # every slot was given back: as many at once as the limit are all served
            assert check_answered_or_shed(await burst(base, 4)) == {200: 4}
    assert counts.get(200, 0) >= 1
    assert counts.get(503, 0) >= 200, counts
    assert took < ANSWER_WITHIN_S


async def test_requests_queued_while_the_api_was_frozen_are_shed_not_served_late(
    tiers: Tiers, api_settings: Settings, tmp_path: Path
) -> None:
    await seed(tiers)
    with api_daemon(api_settings, tmp_path, api_settings.redis.url) as (process, base):
        assert check_answered_or_shed(await burst(base, 3)) == {200: 3}
        pid = process.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            pending = asyncio.ensure_future(burst(base, 200))
            probes = asyncio.ensure_future(unshed(base))  # queued in the same stall
            await asyncio.sleep(1.0)  # connected and sent; the API reads nothing meanwhile
        finally:
            os.kill(pid, signal.SIGCONT)
        counts = check_answered_or_shed(await pending)
        assert counts.get(503, 0) >= 150, counts  # queued 1 s: far over the loop-lag limit
        assert await probes == [200, 200]  # the probe and the scrape are never shed
        await asyncio.sleep(1.5)  # the stall is held for as long as it was, then:
        assert check_answered_or_shed(await burst(base, 3)) == {200: 3}
