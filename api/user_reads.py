"""One user's recent interactions, read for ``GET /v1/users/{id}/interactions``: concurrent
requests with the same query go out as one read.

A request's read is one ``recent`` script in Redis and one parse of its reply in the API: at
1,000 requests/s that was most of the process's CPU and much of Redis's. Here the requests of
one query (kinds and limit) share a ``store.coalesced_reads.Coalescer`` over
``InteractionReader.recent_json_many``: the requests of one loop turn go out as one pipelined
read, a user asked twice in it is read once, and at most ``max_in_flight`` such reads are out at
once; the requests that come meanwhile form the next one. Light load: each request is read at
once, alone. Heavy load: reads grow rather than multiply, so the cost per request falls as the
rate rises, and no request waits for more than the read before its own. A request is never given
a read sent before it came (the Coalescer never joins a read already out), so it sees every
write finished before it asked. Each request keeps its own outcome (a failed user fails only the
requests for that user) and its own deadline (``api.read_timeout_s`` bounds each read).

Requests with ``since`` are read alone: their bound is an instant, which rarely repeats.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.coalesced_reads import Coalescer
from store.read_path import InteractionReader, JsonRow, ReadOutcome

MAX_USERS_PER_READ = 256
"""Users in one coalesced read (one Redis pipeline)."""
MAX_QUERIES = 64
"""Distinct queries (kinds x limit) with a coalescer of their own; more are read alone."""


class UserReads:
    def __init__(self, reader: InteractionReader, *, max_in_flight: int) -> None:
        self.reader = reader
        self.max_in_flight = max_in_flight
        self._by_query: dict[tuple[tuple[str, ...], int], Coalescer[ReadOutcome[JsonRow]]] = {}

    async def recent_json(
        self, user_id: str, *, kinds: Sequence[str], limit: int, since_ms: int | None
    ) -> ReadOutcome[JsonRow]:
        """``InteractionReader.recent_json_many`` for one user: the same outcome."""
        coalescer = None if since_ms is not None else self._coalescer(tuple(kinds), limit)
        if coalescer is None:
            [outcome] = await self.reader.recent_json_many(
                [user_id], kinds=kinds, limit=limit, since_ms=since_ms
            )
            return outcome
        [outcome] = await coalescer.read([user_id])
        return outcome

    def _coalescer(
        self, kinds: tuple[str, ...], limit: int
    ) -> Coalescer[ReadOutcome[JsonRow]] | None:
        query = (kinds, limit)
        found = self._by_query.get(query)
        if found is None and len(self._by_query) < MAX_QUERIES:

            async def read(users: list[str]) -> list[ReadOutcome[JsonRow]]:
                return await self.reader.recent_json_many(users, kinds=kinds, limit=limit)

            found = self._by_query[query] = Coalescer(
                read, MAX_USERS_PER_READ, max_in_flight=self.max_in_flight
            )
        return found
