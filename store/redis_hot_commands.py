"""How the Redis hot store sends commands: one round trip, errors mapped to the hot tier's.

A batch of one command goes without a pipeline (a pipeline of one costs twice the CPU); more go
in one pipeline, or one MULTI/EXEC when asked. NOSCRIPT (a restarted server forgot the scripts)
loads every script and sends the batch again, which every write of the hot store allows
(idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from store.hot import HotStoreError, HotStoreUnavailable
from store.redis_hot_scripts import SCRIPTS

Command = tuple[Any, ...]


async def run_commands(
    client: Redis, what: str, commands: Iterable[Command], *, transaction: bool = False
) -> list[Any]:
    """The replies of ``commands``, in order. HotStoreUnavailable for a connection failure or a
    timeout; HotStoreError for any other error (``what`` names the operation)."""
    batch = list(commands)
    try:
        try:
            return await _execute(client, batch, transaction)
        except NoScriptError:
            for source in SCRIPTS.values():
                await client.script_load(source)
            return await _execute(client, batch, transaction)
    except (RedisConnectionError, RedisTimeoutError) as error:
        raise HotStoreUnavailable(f"{what}: {type(error).__name__}: {error}") from error
    except RedisError as error:
        raise HotStoreError(f"{what}: {type(error).__name__}: {error}") from error


async def _execute(client: Redis, batch: list[Command], transaction: bool) -> list[Any]:
    if len(batch) == 1 and not transaction:  # a pipeline of one costs twice the CPU
        return [await client.execute_command(*batch[0])]  # type: ignore[no-untyped-call]
    async with client.pipeline(transaction=transaction) as pipe:
        for command in batch:
            pipe.execute_command(*command)
        return await pipe.execute()
