"""The cold tier on Cassandra or Scylla (one driver, CQL protocol v4), async on the hot path.

Each request's driver ResponseFuture is bridged to an asyncio future (``add_callbacks`` and
``store.driver_relay``: one loop wake-up per burst of responses); one semaphore bounds the
requests in flight across the store.

Writes: one prepared INSERT per kind naming only the common and that kind's columns, bound by
``store.cassandra_bind.Binder`` and grouped by ``store.cassandra_writes``: a partition's rows as
UNLOGGED batches, small partitions of one replica together (at most 10 partitions, 20 rows), a
row alone as itself. Reads: ``store.cassandra_reads``, bucket by bucket as
``store.bucket_walk`` plans. Measured locally (in-process ``write_many`` of 31,000 write-through
rows of 10k users, batches of 1,000, concurrency 128, load ~7 on 2 cores): one request per row
(partitions alone) 23,324 requests, 274 us of client CPU per row, 2,095 rows/s; partitions of a
replica together 4,308 requests, 127 us/row, 5,002 rows/s; earlier (same partition only, 200k
users) batches and singles tied at ~75 us/row, session flushes (16 rows/partition) 15 us/row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, ResponseFuture, Session
from cassandra.query import PreparedStatement, Statement, tuple_factory

from core.clock import Clock, wall_clock_ms
from core.settings import RetentionSettings
from store import cold
from store.cassandra_bind import Binder
from store.cassandra_cql import insert_cql, select_cql
from store.cassandra_errors import DRIVER_ERRORS, mapped
from store.cassandra_hydration import MAX_COMBINATIONS, HydrationRead, select_all_cql
from store.cassandra_reads import InteractionRows
from store.cassandra_views import MAX_PACKS, Background, ViewStatements
from store.cassandra_writes import InsertRequests, Request, replica_of
from store.driver_relay import relay_for
from store.errors import (
    ColdReadError,
    ColdStoreError,
    ColdStoreUnavailable,
    ColdWriteError,
)
from store.interactions import INTERACTION_KINDS, KIND_FIELDS, ColdRow, Interaction
from store.recent_views import HotMember, merge

TUPLE_ROWS = "interstore-cold-tuple-rows"
"""An execution profile with plain tuple rows: the default row factory builds a namedtuple
class per result set, measured at 11-21% of the worker's CPU."""


class CassandraColdStore(cold.ColdStore):
    """Built from a connected session the caller owns (``close`` does not shut it down).

    Statements are prepared once, here (blocking: build the store at start-up). Reads and writes
    use ``consistency`` (LOCAL_QUORUM: a read sees every acknowledged write).
    """

    def __init__(
        self,
        session: Session,
        keyspace: str,
        retention: RetentionSettings,
        *,
        concurrency: int = 128,
        consistency: int = ConsistencyLevel.LOCAL_QUORUM,
        clock: Clock = wall_clock_ms,
        views_complete: bool = True,
    ) -> None:
        """``views_complete``: every interaction of the keyspace was written with its recent-view
        delta (``CassandraSettings.recent_views_complete``)."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if not keyspace.isidentifier():
            raise ValueError(f"keyspace name {keyspace!r} is not a valid CQL identifier")
        self._session = session
        self._retention = retention
        self._consistency = consistency
        self._clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        if TUPLE_ROWS not in session.cluster.profile_manager.profiles:
            session.cluster.add_execution_profile(
                TUPLE_ROWS,
                session.execution_profile_clone_update(
                    EXEC_PROFILE_DEFAULT, row_factory=tuple_factory
                ),
            )
        self._views_complete = views_complete
        self._refreshes = Background(self._execute)
        self.requests_in_flight = 0
        """Requests sent and not answered by the driver yet (at most ``concurrency``)."""
        self.statements_written = 0
        """Requests ``write_many`` has sent to the interactions table (a row alone, or an
        UNLOGGED batch of a partition's rows), retries too."""
        self.view_statements_written = 0
        """Requests ``write_many`` has sent to ``recent_views`` (a user's delta pack, or an
        UNLOGGED batch of several users'), retries too; view refreshes not counted."""
        table = f"{keyspace}.interactions"
        try:
            inserts = {k: self._prepare(insert_cql(table, k)) for k in INTERACTION_KINDS}
            selects = {k: self._prepare(select_cql(table, k)) for k in INTERACTION_KINDS}
            select_all = self._prepare(select_all_cql(table))
            self._ping = self._prepare("SELECT release_version FROM system.local")
            replica = replica_of(session, keyspace)
            self._views = ViewStatements(session, keyspace, retention, consistency, replica)
        except DRIVER_ERRORS as exc:
            raise mapped(exc, f"preparing statements on {table}", ColdStoreError) from exc
        binders = {kind: Binder(insert) for kind, insert in inserts.items()}
        self._writes = InsertRequests(binders, retention, consistency, replica)
        self._reads = InteractionRows(self._execute, selects, select_all, retention)

    def _prepare(self, cql: str) -> PreparedStatement:
        prepared = self._session.prepare(cql)
        prepared.consistency_level = self._consistency
        prepared.is_idempotent = True
        prepared.fetch_size = None  # every SELECT has a LIMIT: one page, no paging state
        return prepared

    def _start(
        self, statement: Statement, profile: Any = EXEC_PROFILE_DEFAULT
    ) -> asyncio.Future[Any]:
        """Send one request, holding a semaphore slot until the DRIVER is done with it: a
        waiter that gives up (a read timeout cancels it) does not free the slot while the
        request still runs, so requests in flight never pass the store's concurrency."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        try:
            future: ResponseFuture = self._session.execute_async(
                statement, execution_profile=profile
            )
        except Exception as exc:  # noqa: BLE001 - raised to the waiter, and the slot freed
            self._limit.release()
            done.set_exception(exc)
            return done
        self.requests_in_flight += 1
        relay = relay_for(loop)
        future.add_callbacks(
            relay, relay, callback_args=(done, False, self._finished),
            errback_args=(done, True, self._finished),
        )  # fmt: skip
        return done

    def _finished(self) -> None:
        self.requests_in_flight -= 1
        self._limit.release()

    async def _execute(self, statement: Statement) -> Any:
        await self._limit.acquire()
        return await self._start(statement, TUPLE_ROWS)  # reads index rows by position

    # -- writes

    async def write_many(self, interactions: Sequence[Interaction]) -> int:
        """The rows, then (once every row is written) the users' recent-view deltas: a view
        never holds an interaction whose row was not written. Returns the row statements sent."""
        what = f"write of {len(interactions)} interactions"
        self._check_open(what)
        now_ms = self._clock()
        requests, written = self._writes.requests(interactions, now_ms, what)
        self.skipped_past_retention += len(interactions) - len(written)
        statements = await self._send(requests, what)
        if written:
            first = written[0]
            deltas = [(s, first) for s in self._views.deltas(written, now_ms)]
            await self._send(deltas, f"recent-view deltas of the {what}", views=True)
        return statements

    async def _send(self, requests: Sequence[Request], what: str, *, views: bool = False) -> int:
        """Send the requests (at most ``concurrency`` in flight), counted in
        ``statements_written`` or (``views``) ``view_statements_written``; after a failure the
        rest are not sent (the caller retries the whole batch). Returns how many were sent."""
        failures: list[tuple[BaseException, Interaction]] = []
        sent: list[asyncio.Future[Any]] = []
        for statement, item in requests:
            await self._limit.acquire()
            if failures:  # stop sending: the caller retries the whole batch anyway
                self._limit.release()
                break
            done = self._start(statement)
            if views:
                self.view_statements_written += 1
            else:
                self.statements_written += 1
            done.add_done_callback(partial(_note_failure, failures, item))
            sent.append(done)
        await asyncio.gather(*sent, return_exceptions=True)
        if failures:
            exc, item = failures[0]
            where = f"{what} ({len(failures)} requests failed, first event {item.event_id!r}"
            raise mapped(exc, f"{where} of user {item.user_id!r})", ColdWriteError) from exc
        return len(sent)

    # -- reads

    async def ping(self) -> None:
        self._check_open("ping")
        try:
            await self._execute(self._ping.bind(()))
        except DRIVER_ERRORS as exc:
            raise mapped(exc, "ping", ColdStoreUnavailable) from exc

    async def recent(
        self,
        user_id: str,
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> list[Interaction]:
        wanted = cold.check_read(kinds, limit)
        what = f"read of recent {', '.join(wanted)} of user {user_id!r}"
        self._check_open(what)
        if limit == 0:
            return []
        now = self._clock() if now_ms is None else now_ms
        reads = [self._recent_kind(user_id, kind, limit, since_ms, now) for kind in wanted]
        try:
            per_kind = await cold.gather_all(reads)
        except DRIVER_ERRORS as exc:
            raise mapped(exc, what, ColdReadError) from exc
        return cold.merge_newest_first(per_kind, limit)

    async def _recent_kind(
        self, user_id: str, kind: str, limit: int, since_ms: int | None, now_ms: int
    ) -> list[Interaction]:
        names = KIND_FIELDS[kind]
        return [
            Interaction(kind, row[0], user_id, *row[1:4], **dict(zip(names, row[4:], strict=True)))
            for row in await self._reads.kind(user_id, kind, limit, since_ms, now_ms)
        ]  # newest first, at most ``limit``

    async def hydration_rows(
        self, user_id: str, *, limit: int, now_ms: int | None = None
    ) -> dict[str, list[ColdRow]]:
        """Every kind's probe in one request (``store.cassandra_hydration``, then
        ``store.bucket_walk``), or the kinds' own reads when that would name more partitions
        than Scylla allows in a query."""
        cold.check_read(INTERACTION_KINDS, limit)
        what = f"read of recent interactions of user {user_id!r}"
        self._check_open(what)
        now = self._clock() if now_ms is None else now_ms
        read = HydrationRead(self._retention, now)
        if limit == 0 or read.combinations > MAX_COMBINATIONS:
            return await super().hydration_rows(user_id, limit=limit, now_ms=now)
        try:
            per_kind = await self._reads.hydration(read, user_id, limit)
        except DRIVER_ERRORS as exc:
            raise mapped(exc, what, ColdReadError) from exc
        return dict(zip(INTERACTION_KINDS, per_kind, strict=True))

    async def hydration_members(
        self, user_id: str, *, limit: int, now_ms: int | None = None
    ) -> dict[str, list[HotMember]]:
        """From the user's compact recent view (``store.recent_views``): one request for the
        user's packs; the individual rows only when the packs are not authoritative. Either way
        the view is then refreshed to one base pack, sent without waiting for it (a refresh
        that fails leaves packs that still merge to the same answer)."""
        cold.check_read(INTERACTION_KINDS, limit)
        what = f"read of the recent view of user {user_id!r}"
        self._check_open(what)
        now = self._clock() if now_ms is None else now_ms
        if limit == 0:
            return {kind: [] for kind in INTERACTION_KINDS}
        try:
            found = list(await self._execute(self._views.select.bind([user_id])) or ())
        except DRIVER_ERRORS as exc:
            raise mapped(exc, what, ColdReadError) from exc
        parts = [part for part, _ in found]
        merged = None
        if len(found) < MAX_PACKS:
            windows = self._views.windows(now)
            packs = [packed for _, packed in found]
            merged = merge(packs, limit=limit, windows=windows, complete=self._views_complete)
        if merged is None:  # older history, or too many packs: the rows, and a base from them
            members = await super().hydration_members(user_id, limit=limit, now_ms=now)
            self._refreshes.send(self._views.refresh(user_id, parts, limit, members, now))
            return members
        if merged.refresh:
            self._refreshes.send(self._views.refresh(user_id, parts, limit, merged.base, now))
        return merged.view

    @property
    def rows_fetched(self) -> int:
        """Interaction rows the driver returned to ``recent`` and hydration reads (tests)."""
        return self._reads.rows_fetched

    async def settle(self) -> None:
        """Until every view refresh sent has settled (tests; ``close``)."""
        await self._refreshes.settle()

    async def close(self) -> None:
        await self.settle()
        await super().close()


def _note_failure(
    failures: list[tuple[BaseException, Interaction]], item: Interaction, done: asyncio.Future[Any]
) -> None:
    if not done.cancelled() and (exc := done.exception()) is not None:
        failures.append((exc, item))
