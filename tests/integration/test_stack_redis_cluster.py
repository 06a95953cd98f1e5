"""`stack up --redis-cluster`'s nodes, started the way the stack starts them but in a folder and
on ports of the test's own (the shared stack is never touched): they form one cluster the hot
store uses, and `stack down` stops them."""

from __future__ import annotations

from pathlib import Path

from core.settings import RedisSettings, StackSettings
from deploy.process import free_port, wait_until_ready
from deploy.redis_cluster import cluster_nodes, cluster_ok, cluster_url, form_cluster
from deploy.stack import LocalStack
from store.redis_hot import RedisHotStore
from tests.hot_contract_support import SESSION, P, hydrate
from tests.store_contract import NOW_MS, RETENTION


def free_cluster_port(nodes: int) -> int:
    """A first port with ``nodes`` free ports after it, and their bus ports (+10000) free."""
    while True:
        port = free_port()
        if port + nodes + 10000 < 65536:
            return port


async def test_the_stack_forms_a_cluster_and_stops_it(tmp_path: Path) -> None:
    settings = StackSettings(
        var_dir=tmp_path / "var",
        cache_dir=tmp_path / "cache",
        redis_cluster=True,
        redis_cluster_port=free_cluster_port(3),
    )
    nodes = cluster_nodes(settings)
    stack = LocalStack(settings)
    assert [n.name for n in nodes] == [f"redis-cluster-{i}" for i in range(3)]
    try:
        for node in nodes:
            node.prepare()
            spec = node.launch_spec()
            node.process.start(spec.argv, spec.env, spec.cwd)
        for node in nodes:
            wait_until_ready(node.probe, timeout_s=30, process=node.process)
        ports = [node.port for node in nodes]
        form_cluster(ports)
        form_cluster(ports)  # idempotent
        assert cluster_ok(ports)

        redis = RedisSettings(url=cluster_url(settings), cluster=True)
        store = RedisHotStore(redis, SESSION, RETENTION, prefix="stack-test")
        try:
            await store.set_sentinel(P)
            await hydrate(store, "user-1", [], partition=P, now_ms=NOW_MS)
            assert await store.live_users(["user-1", "user-2"]) == {"user-1"}
            assert await store.sentinel_ok(P)
        finally:
            await store.close()
    finally:
        stopped = stack.down()
    assert sorted(stopped) == [n.name for n in nodes]
    assert all(node.process.pid() is None for node in nodes)
