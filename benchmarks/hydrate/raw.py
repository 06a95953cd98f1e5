"""The floor of `bench hydrate`: per kind one plain prepared SELECT over every bucket of the read
window (the worker's query shape), tuple rows, newest ``last_n`` kept; one plain redis-py
pipeline of one ZADD per kind. Timed per user, one at a time, at the app-open rate."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import orjson
import redis
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Session
from cassandra.query import tuple_factory
from rich.console import Console

from benchmarks.harness.figures import progress
from core.clock import wall_clock_ms
from core.settings import Settings
from store.buckets import buckets_between, span_days
from store.cold import read_window
from store.interactions import INTERACTION_KINDS, KIND_FIELDS


class RawHydrator:
    """Hydrates a user with plain driver reads and one redis-py pipeline."""

    PROFILE = "bench-raw-tuple-rows"

    def __init__(
        self, settings: Settings, session: Session, keyspace: str, prefix: str, last_n: int
    ) -> None:
        self.session, self.prefix, self.last_n = session, prefix, last_n
        self.retention = settings.retention
        self.redis = redis.Redis.from_url(settings.redis.url)
        if self.PROFILE not in session.cluster.profile_manager.profiles:
            profile = session.execution_profile_clone_update(
                EXEC_PROFILE_DEFAULT, row_factory=tuple_factory
            )
            session.cluster.add_execution_profile(self.PROFILE, profile)
        self.selects = {}
        for kind in INTERACTION_KINDS:
            columns = ("event_id", "product_id", "category_id", "toUnixTimestamp(ts)")
            statement = session.prepare(
                f"SELECT {', '.join((*columns, *KIND_FIELDS[kind]))} "  # noqa: S608
                f"FROM {keyspace}.interactions WHERE user_id = ? AND kind = ? AND bucket IN ?"
                " AND ts >= ? AND ts <= ? PER PARTITION LIMIT ?"
            )
            statement.consistency_level = ConsistencyLevel.LOCAL_QUORUM
            statement.fetch_size = None
            self.selects[kind] = statement

    def hydrate(self, user: str) -> float:
        """Hydrate ``user``; the seconds it took."""
        started = time.perf_counter()
        now = wall_clock_ms()
        reads = []
        for kind in INTERACTION_KINDS:
            oldest, newest = read_window(self.retention.days(kind), now, None)
            buckets = buckets_between(newest, oldest, span_days(kind))
            statement = self.selects[kind].bind([user, kind, buckets, oldest, newest, self.last_n])
            reads.append(
                (kind, self.session.execute_async(statement, execution_profile=self.PROFILE))
            )
        pipe = self.redis.pipeline(transaction=False)
        for kind, future in reads:
            rows = sorted(future.result(), key=lambda row: (-row[3], row[0]))[: self.last_n]
            if rows:
                members = {orjson.dumps(row, default=str): -row[3] for row in rows}
                pipe.zadd(f"{self.prefix}:{{{user}}}:view:{kind}", members)
        pipe.execute()
        return time.perf_counter() - started

    def counts(self, users: Sequence[str]) -> dict[str, dict[str, int]]:
        """Members per kind of each user's views (to check them against what was loaded)."""
        pipe = self.redis.pipeline(transaction=False)
        for user in users:
            for kind in INTERACTION_KINDS:
                pipe.zcard(f"{self.prefix}:{{{user}}}:view:{kind}")
        replies = iter(pipe.execute())
        return {user: {kind: int(next(replies)) for kind in INTERACTION_KINDS} for user in users}


def raw_hydrations(
    raw: RawHydrator, users: Sequence[str], rate: float, alive: Callable[[], None], console: Console
) -> list[float]:
    """Each user hydrated at ``rate``, one at a time; the seconds of each."""
    seconds = []
    with progress(console, 34) as bar:
        task = bar.add_task("raw baseline: users hydrated", total=len(users))
        started = time.monotonic()
        for index, user in enumerate(users):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            alive()
            seconds.append(raw.hydrate(user))
            bar.update(task, advance=1)
    return seconds
