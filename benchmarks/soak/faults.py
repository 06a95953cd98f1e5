"""The faults the soak injects, on what the soak owns: its private ``redis-server``, the TCP
proxy between its worker/API and the shared Cassandra, and its own worker process.

The shared Cassandra is never SIGSTOPped (other engineers' tests and benchmarks use it): the
proxy's ``pause`` stands in for it. A SIGSTOPped Cassandra keeps its sockets open and answers
nothing; a paused proxy does the same to the soak's connections (they stay open, no byte moves
either way), so the driver sees what it would see (requests time out, no connection error).
What the stand-in does not reproduce: the node's own state (gossip, hints, its clients other
than the soak's) and the pause's effect on the node's GC and compaction afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable

from deploy.private_redis import PrivateRedis
from deploy.tcp_proxy import TcpProxy

OOM_HEADROOM_BYTES = 2 * 1024 * 1024
RESTART_DOWN_S = 3.0


def redis_oom(redis: PrivateRedis, hold_s: float) -> dict[str, object]:
    """``CONFIG SET maxmemory`` just above what Redis uses, then junk until it answers OOM to
    every write; after ``hold_s`` the junk goes and the limit is lifted."""
    client = redis.client()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used + OOM_HEADROOM_BYTES))
    junk = redis.fill()
    time.sleep(hold_s)
    redis.drain()
    client.config_set("maxmemory", "0")
    return {"maxmemory_bytes": used + OOM_HEADROOM_BYTES, "junk_keys": junk}


def redis_restart(redis: PrivateRedis, down_s: float = RESTART_DOWN_S) -> dict[str, object]:
    """Stop the private Redis (its data is gone: no persistence), start it again empty on the
    same port ``down_s`` later."""
    redis.stop()
    time.sleep(down_s)
    redis.start()
    return {"down_s": down_s}


def cassandra_pause(proxy: TcpProxy, hold_s: float) -> dict[str, object]:
    """Freeze every connection of the soak's worker and API to Cassandra for ``hold_s``."""
    proxy.pause()
    try:
        time.sleep(hold_s)
    finally:
        proxy.resume()
    return {"paused_s": hold_s}


def worker_kill(kill: Callable[[], int], start: Callable[[], int]) -> dict[str, object]:
    """SIGKILL the soak's worker, start another in its place (same group, names and stores)."""
    killed = kill()
    started = start()
    return {"killed_pid": killed, "started_pid": started}
