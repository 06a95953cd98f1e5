"""How the Redis hot store sends commands: one round trip, errors mapped to the hot tier's.

A batch of one command goes without a pipeline (a pipeline of one costs twice the CPU); more go
in one pipeline, or one MULTI/EXEC when asked. NOSCRIPT (a restarted server forgot the scripts)
loads every script and sends the batch again, which every write of the hot store allows
(idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    NoScriptError,
    RedisClusterException,
    RedisError,
    SlotNotCoveredError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from store.hot import HotStoreError, HotStoreUnavailable
from store.redis_errors import classify
from store.redis_hot_scripts import SCRIPTS
from store.redis_pack import RedisClient

Command = tuple[Any, ...]


def eval_per_slot(
    source: str, keys: Mapping[int, Sequence[str]], args: Sequence[Any], *, cluster: bool
) -> list[Command]:
    """EVAL of ``source`` over ``keys`` (per slot group, each group's keys in one slot): one
    EVAL over all of them on one node, one per group on a cluster (a script keeps to one slot
    there). A script that answers a list per key answers the same concatenated replies."""
    if not cluster:
        every = [key for group in keys.values() for key in group]
        return [("EVAL", source, len(every), *every, *args)]
    return [("EVAL", source, len(group), *group, *args) for group in keys.values()]


async def run_commands(
    client: RedisClient, what: str, commands: Iterable[Command], *, transaction: bool = False
) -> list[Any]:
    """The replies of ``commands``, in order. HotStoreUnavailable for a connection failure or a
    timeout or an error reply that may pass; HotStoreFull for OOM; HotStoreError for any other
    error (``what`` names the operation)."""
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
    except RedisError as error:  # an error reply: OOM, READONLY, BUSY, ... (store.redis_errors)
        raise classify(error, what) from error
    except SlotNotCoveredError as error:  # a cluster whose node for a slot is gone, for now
        raise HotStoreUnavailable(f"{what}: {type(error).__name__}: {error}") from error
    except RedisClusterException as error:  # keys of several slots in one command: a bug
        raise HotStoreError(f"{what}: {type(error).__name__}: {error}") from error


async def _execute(client: RedisClient, batch: list[Command], transaction: bool) -> list[Any]:
    if len(batch) == 1 and not transaction:  # a pipeline of one costs twice the CPU
        return [await client.execute_command(*batch[0])]
    async with client.pipeline(transaction=transaction) as pipe:
        for command in batch:
            pipe.execute_command(*command)
        return await pipe.execute()
