"""Redis error replies that are not connection errors, from a private real server: OOM is
``HotStoreFull`` (writes refused, reads and deletes still served); READONLY (a replica after a
failover), MASTERDOWN and BUSY (a long script) are ``HotStoreUnavailable``: retried, not a crash.
Before, all of them were a plain ``HotStoreError`` and the worker exited on the first one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core.settings import RedisSettings
from deploy.private_redis import PrivateRedis, free_port, private_redis
from store.hot import HotStoreFull, HotStoreUnavailable, Hydration
from store.redis_hot import RedisHotStore
from tests.hot_store_contract import SESSION
from tests.store_contract import NOW_MS, RETENTION, FakeClock, click


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path / "redis", maxmemory="4mb") as started:
        yield started


async def hydrate(store: RedisHotStore, user: str, event_id: str) -> None:
    rows = {"click": [click(event_id, NOW_MS - 1000, user).row()]}
    await store.hydrate_many([Hydration(user, rows, 0)], now_ms=NOW_MS)


def store_of(server: PrivateRedis) -> RedisHotStore:
    settings = RedisSettings(url=server.url, socket_timeout_s=10, retries=0)
    return RedisHotStore(settings, SESSION, RETENTION, prefix="t", clock=FakeClock())


async def test_out_of_memory_is_hot_store_full_and_reads_still_work(server: PrivateRedis) -> None:
    store = store_of(server)
    await hydrate(store, "u1", "e1")
    server.fill()
    with pytest.raises(HotStoreFull):
        await hydrate(store, "u2", "e2")
    assert await store.live_users(["u1", "u2"]) == {"u1"}
    await store.close()


async def test_readonly_and_masterdown_are_unavailable(server: PrivateRedis) -> None:
    store = store_of(server)
    client = server.client()
    client.replicaof("127.0.0.1", str(free_port()))  # a master that never answers
    try:
        with pytest.raises(HotStoreUnavailable, match="ReadOnly"):
            await hydrate(store, "u1", "e1")
        client.config_set("replica-serve-stale-data", "no")
        with pytest.raises(HotStoreUnavailable, match="MasterDown"):
            await store.live_users(["u1"])
    finally:
        client.config_set("replica-serve-stale-data", "yes")
        client.replicaof("NO", "ONE")
    await hydrate(store, "u1", "e1")
    await store.close()


async def test_busy_running_a_script_is_unavailable(server: PrivateRedis) -> None:
    store = store_of(server)
    client = server.client()
    client.config_set("busy-reply-threshold", "100")
    spinner = threading.Thread(target=spin, args=(server,))
    spinner.start()
    try:
        error = await first_error(store)
    finally:
        for _ in range(100):
            try:
                client.script_kill()
                break
            except redis.exceptions.ResponseError:  # not running (yet, or any more)
                threading.Event().wait(0.05)
        spinner.join(10)
    assert isinstance(error, HotStoreUnavailable)
    assert "BUSY" in str(error)
    assert await store.live_users(["u1"]) == set()
    await store.close()


def spin(server: PrivateRedis) -> None:
    with (
        redis.Redis(host="127.0.0.1", port=server.port) as own,
        contextlib.suppress(redis.exceptions.RedisError),
    ):
        own.eval("while true do end", 0)


async def first_error(store: RedisHotStore) -> Exception | None:
    """The error of the first of 50 reads that fails (the script runs past the threshold)."""
    for _ in range(50):
        try:
            await store.live_users(["u1"])
        except Exception as exc:  # noqa: BLE001 - returned to the test's asserts
            return exc
    return None
