"""In-process CPU per event of the features worker's own work (no Kafka nor Cassandra).

``python -m benchmarks.features.cpu [--events N] [--profile out.prof] [--default-gc]
[--redis]``: the bench's events (the same generator, seed and user count) are encoded, split by
user over the partitions, then taken in batches of ``batch`` like the worker: ``route`` (decode,
validate, per-entity events), the repartition records encoded and decoded, and
``FeatureUpdater.apply`` on both sides against in-memory state stores (``--redis``: the working
copy in the stack's Redis under a scratch prefix, removed after; hold
``/tmp/interstore-heavy.lock``), the durable copy deferred as in the worker (never flushed).
Prints CPU microseconds per event (``time.process_time``). The garbage collector is set as in
the worker (``streams.features.collector``) unless ``--default-gc``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import time
import zlib
from collections.abc import Sequence

from core.settings import load_settings
from features.catalogue import load_catalogue
from features.plan import plans_from_catalogue
from features.state_cache import state_digest
from features.updater import FeatureUpdater
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from store.deferred_feature_state import DeferredStateStore
from store.feature_state import (
    DurableStateStore,
    StateKey,
    StateWrite,
    StoredState,
    WorkingStateStore,
)
from store.redis_feature_state import RedisStateStore
from streams.features.collector import tune_collector
from streams.features.records import decode_repartitioned, route
from streams.messages import RawMessage


class MemoryWorking(WorkingStateStore):
    """Compare-and-set on a dict: the working store's contract without Redis."""

    def __init__(self) -> None:
        self.states: dict[StateKey, StoredState] = {}
        self.serving: dict[str, bytes] = {}

    async def lost_shards(self, shards: Sequence[str]) -> list[str]:
        return []

    async def mark_intact(self, shard: str) -> None:
        return None

    async def read(self, keys: Sequence[StateKey]) -> list[StoredState | None]:
        return [self.states.get(k) for k in keys]

    async def write(self, writes: Sequence[StateWrite]) -> list[bool]:
        done = []
        for w in writes:
            known = self.states.get(w.key)
            ok = (None if known is None else known.version) == w.expected
            if ok and w.expected_digest is not None:
                ok = known is not None and state_digest(known.blob) == w.expected_digest
            if ok:
                blob = w.blob if w.blob is not None else known.blob  # type: ignore[union-attr]
                self.states[w.key] = StoredState(w.version, blob)
                self.serving.update(w.serving)
            done.append(ok)
        return done

    async def reload(self, shard: str, states: Sequence[StateWrite]) -> int:
        return 0

    async def due(self, shard: str, now_ms: int, limit: int) -> list[StateKey]:
        return []


class MemoryDurable(DurableStateStore):
    async def save(self, states: Sequence[tuple[str, StateKey, StoredState]]) -> None:
        return None

    async def load(self, shard: str) -> list[tuple[StateKey, StoredState]]:
        return []


def messages(events: int, users: int, partitions: int, now_ms: int) -> list[RawMessage]:
    codec = default_codec()
    offsets = [0] * partitions
    out = []
    start = now_ms - events * 10
    for kind, record in generate_events(users, events, 42, start):
        partition = zlib.crc32(record["user_id"].encode()) % partitions
        out.append(
            RawMessage("events", partition, offsets[partition], None, codec.encode(kind, record))
        )
        offsets[partition] += 1
    return out


async def run(msgs: list[RawMessage], batch: int, now_ms: int, working: WorkingStateStore) -> None:
    settings = load_settings()
    catalogue = load_catalogue(settings.features.definitions_path)
    plans = plans_from_catalogue(catalogue)
    prefix = working.prefix if isinstance(working, RedisStateStore) else "cpu"
    updater = FeatureUpdater(
        catalogue, plans, working, DeferredStateStore(MemoryDurable()),
        key_prefix=prefix, lateness_ms=3_600_000, clock=lambda: now_ms,
    )  # fmt: skip
    codec = default_codec()
    for first in range(0, len(msgs), batch):
        routed = route(codec, plans, msgs[first : first + batch], now_ms, 12)
        await updater.apply(routed.local)
        repartitioned = [
            RawMessage("rp", p, i, k, v) for i, (p, k, v) in enumerate(routed.outgoing)
        ]
        await updater.apply(decode_repartitioned(repartitioned))


async def in_redis(msgs: list[RawMessage], batch: int, now_ms: int) -> float:
    """``run`` with the working copy in the stack's Redis, its keys removed after (not
    counted); returns the CPU seconds of the run."""
    working = RedisStateStore(load_settings().redis, f"cpubench{now_ms}")
    started = time.process_time()
    try:
        await run(msgs, batch, now_ms, working)
        return time.process_time() - started
    finally:
        async for key in working.client.scan_iter(f"{working.prefix}:*", count=1000):
            await working.client.delete(key)
        await working.close()


def digest(working: MemoryWorking) -> str:
    """A hash of every serving value and state written: equal digests, equal answers."""
    h = hashlib.blake2b(digest_size=8)
    for key in sorted(working.serving):
        h.update(key.encode() + working.serving[key])
    for state_key in sorted(working.states, key=StateKey.member):
        h.update(state_key.member().encode() + working.states[state_key].blob)
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--now-ms", type=int, default=0, help="fixed: comparable digests")
    parser.add_argument("--default-gc", action="store_true", help="CPython's collector settings")
    parser.add_argument(
        "--redis", action="store_true", help="the working copy in the stack's Redis"
    )
    args = parser.parse_args()
    now_ms = args.now_ms or int(time.time() * 1000)
    msgs = messages(args.events, args.users, 12, now_ms)
    if not args.default_gc:
        tune_collector()
    profiler = cProfile.Profile() if args.profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    working = MemoryWorking()
    if args.redis:
        cpu = asyncio.run(in_redis(msgs, args.batch, now_ms))
    else:
        asyncio.run(run(msgs, args.batch, now_ms, working))
        cpu = time.process_time() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(f"{len(msgs)} events, batch {args.batch}: {cpu * 1e6 / len(msgs):.1f} us CPU/event")
    if not args.redis:
        print(f"digest of values and states: {digest(working)}")


if __name__ == "__main__":
    main()
