"""A ``redis.asyncio`` connection that packs commands with hiredis (C) instead of Python.

redis-py's asyncio connection packs every argument in Python (an encoder call, ``isinstance``
checks and a bytes join per argument); only its sync connection uses hiredis' packer. A
hydration sends about 3 arguments per interaction (2,700 for 900 interactions): measured with
cProfile, packing was the largest single cost of a hydration on the worker's event loop.
``hiredis.pack_command`` builds the same RESP bytes in C. It accepts str (UTF-8), bytes, int and
float, which is all the hot store sends; anything else (None, say) raises ``DataError``.

``redis_client`` is the one factory of Redis clients (hot tier, feature store, feature states):
a ``Redis`` on a blocking pool of its own, or with ``INTERSTORE_REDIS_CLUSTER=true`` redis-py's
asyncio ``RedisCluster`` seeded from the URL's node. The cluster client builds its own
connections (plain ``Connection``: redis-py gives no way to choose their class, so commands are
packed in Python there), has a pool per node that fails at once when full (``MaxConnectionsError``,
a connection error: an outage for the callers) and runs a pipeline as one pipeline per node,
concurrently. ``scan_keys`` walks every key matching a pattern on either (every primary of a
cluster).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import hiredis
from redis.asyncio import BlockingConnectionPool, Connection, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import DataError

from core.settings import RedisSettings


class HiredisPackedConnection(Connection):
    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does: a command name given with its literal sub-arguments ("SCRIPT LOAD")
        # is split, so the server sees them as separate arguments.
        first = args[0]
        if isinstance(first, str):
            args = (*first.encode().split(), *args[1:])
        elif isinstance(first, bytes) and b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:
            raise DataError(f"cannot pack a Redis command argument: {exc}") from exc


def packed_connection(url: str) -> dict[str, Any]:
    """Pool keyword arguments that use ``HiredisPackedConnection`` for a plain ``redis://`` URL
    (TLS and unix-socket URLs keep redis-py's own connection classes)."""
    return {"connection_class": HiredisPackedConnection} if urlsplit(url).scheme == "redis" else {}


RedisClient = Redis | RedisCluster
"""What ``redis_client`` builds; both take the same commands and pipelines."""


def redis_client(redis: RedisSettings) -> RedisClient:
    """A client on a pool of its own, configured from ``redis`` (connects lazily)."""
    if redis.cluster:
        return RedisCluster.from_url(
            redis.url,
            max_connections=redis.max_connections,
            socket_timeout=redis.socket_timeout_s,
            socket_connect_timeout=redis.connect_timeout_s,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), redis.retries),
        )
    pool = BlockingConnectionPool.from_url(
        redis.url,
        max_connections=redis.max_connections,
        timeout=redis.pool_timeout_s,
        socket_timeout=redis.socket_timeout_s,
        socket_connect_timeout=redis.connect_timeout_s,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), redis.retries),
        **packed_connection(redis.url),
    )
    return Redis.from_pool(pool)


async def scan_keys(client: RedisClient, match: str, *, count: int) -> AsyncIterator[bytes]:
    """Every key matching ``match``: on a cluster, each primary's keyspace in turn (a SCAN
    answers for one node's keys only), on a single node one SCAN."""
    if isinstance(client, RedisCluster):
        for node in client.get_primaries():
            async for key in client.scan_iter(match=match, count=count, target_nodes=node):
                yield key
        return
    async for key in client.scan_iter(match=match, count=count):
        yield key
