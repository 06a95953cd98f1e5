"""How a cold write groups its rows into requests (``store.cassandra_writes``): every row once,
a partition's rows together, small partitions of one replica together within the limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

from cassandra.query import BatchStatement, SimpleStatement, Statement
from hypothesis import given, settings
from hypothesis import strategies as st

from core.settings import RetentionSettings
from store.buckets import bucket_of, span_days
from store.cassandra_writes import (
    MAX_BATCH_ROWS,
    MIXED_BATCH_ROWS,
    PARTITIONS_PER_BATCH,
    InsertRequests,
)
from store.interactions import INTERACTION_KINDS, Interaction

NOW_MS = 1_790_000_000_000
DAY_MS = 86_400_000


class Prepared:
    """Binds to a statement whose text is its key (user, kind, bucket, ts, event id)."""

    def bind(self, values: Sequence[Any]) -> Statement:
        key = "|".join(str(value) for value in values[:5])
        return SimpleStatement(key, keyspace="ks", routing_key=str(values[0]).encode())


def replica(statement: Statement) -> Hashable:
    return int(statement.routing_key.decode().rsplit("-", 1)[1]) % 3


def requests_of(items: list[Interaction]) -> list[Statement]:
    prepared = {kind: Prepared() for kind in INTERACTION_KINDS}
    writes = InsertRequests(prepared, RetentionSettings(), 1, replica)  # type: ignore[arg-type]
    requests, written = writes.requests(items, NOW_MS, "test")
    assert written == items  # nothing past retention here
    return [statement for statement, _ in requests]


def rows_of(statement: Statement) -> list[list[str]]:
    if isinstance(statement, BatchStatement):
        return [text.split("|") for _, text, _ in statement._statements_and_parameters]
    return [statement.query_string.split("|")]  # type: ignore[attr-defined]


def interaction(user: int, kind: str, day: int, n: int) -> Interaction:
    ts = NOW_MS - day * DAY_MS - n
    extra = {"click": {"surface": "s", "position": 1}, "wishlist": {"action": "ADD"}}
    return Interaction(kind, f"e-{user}-{kind}-{day}-{n}", f"user-{user}", "p", "c", ts,
                       **extra.get(kind, {"order_id": "o", "quantity": 1, "price": None,
                                          "currency": "EUR"}))  # fmt: skip


histories = st.lists(
    st.tuples(
        st.integers(0, 40),
        st.sampled_from(INTERACTION_KINDS),
        st.integers(0, 60),
        st.integers(1, 130),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(histories)
def test_every_row_once_partitions_whole_and_batches_within_limits(spec: list[Any]) -> None:
    items = [interaction(u, k, d, n) for u, k, d, rows in spec for n in range(rows)]
    items = list({i.event_id: i for i in items}.values())
    statements = requests_of(items)
    seen = Counter(row[4] for s in statements for row in rows_of(s))
    assert seen == Counter(i.event_id for i in items)
    homes: dict[tuple[Any, ...], set[int]] = {}
    for index, statement in enumerate(statements):
        rows = rows_of(statement)
        partitions = {tuple(row[:3]) for row in rows}
        for partition in partitions:
            homes.setdefault(partition, set()).add(index)
        assert len({int(p[0].rsplit("-", 1)[1]) % 3 for p in partitions}) == 1  # one replica
        if len(partitions) > 1:
            assert len(partitions) <= PARTITIONS_PER_BATCH
            assert len(rows) <= MIXED_BATCH_ROWS
        assert len(rows) <= MAX_BATCH_ROWS
    sizes = Counter((i.user_id, i.kind, str(bucket_of(i.ts_ms, span_days(i.kind)))) for i in items)
    for partition, requests in homes.items():
        if sizes[partition] <= MIXED_BATCH_ROWS:
            assert len(requests) == 1  # a small partition is never split
        else:
            assert len(requests) == -(-sizes[partition] // MAX_BATCH_ROWS)


def test_users_with_one_row_each_go_ten_to_a_request() -> None:
    items = [interaction(u, "click", 0, 0) for u in range(300)]
    statements = requests_of(items)
    assert len(statements) == 30  # 100 users per replica, 10 per request
    assert all(isinstance(s, BatchStatement) for s in statements)


def test_a_row_alone_is_sent_as_itself() -> None:
    [statement] = requests_of([interaction(1, "order", 0, 0)])
    assert not isinstance(statement, BatchStatement)
