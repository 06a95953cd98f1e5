"""``store.cassandra_bind.Binder`` binds the same bytes as the driver's ``bind``, and raises the
driver's errors, on the project's real prepared statements."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from cassandra.cluster import Session
from cassandra.query import UNSET_VALUE, BoundStatement

from store.cassandra_bind import Binder
from store.cassandra_cql import insert_cql
from store.interactions import INTERACTION_KINDS

COMMON = ["user-1", "?", 2_894, 1_750_000_000_123, "e-1", "p-1", "c-1"]
OWN: dict[str, list[list[Any]]] = {
    "click": [["search", 3], ["pdp_recs", UNSET_VALUE], [UNSET_VALUE, -(2**31)]],
    "order": [["o-1", 2, Decimal("19.9900"), "EUR"], ["o-2", 0, Decimal("-0.0001"), "INR"],
              [UNSET_VALUE, 1, Decimal("123456789012.1234"), UNSET_VALUE]],
    "wishlist": [["ADD"], [UNSET_VALUE], ["REMOVE"]],
}  # fmt: skip
ODD = ["üser-ß-🙂", "", 0, 0, "e", "p", "c"]


def same(ours: BoundStatement, theirs: BoundStatement) -> None:
    assert ours.values == theirs.values
    assert ours.routing_key == theirs.routing_key
    assert ours.keyspace == theirs.keyspace
    assert ours.consistency_level == theirs.consistency_level
    assert ours.is_idempotent == theirs.is_idempotent


@pytest.mark.parametrize("kind", INTERACTION_KINDS)
def test_same_bytes_as_the_driver(cql_session: Session, keyspace: str, kind: str) -> None:
    prepared = cql_session.prepare(insert_cql(f"{keyspace}.interactions", kind))
    prepared.is_idempotent = True
    binder = Binder(prepared)
    for common in (COMMON, ODD):
        for own in OWN[kind]:
            values = [common[0], kind, *common[2:], *own, 86_400]
            same(binder.bind(values), prepared.bind(values))


def test_what_the_driver_refuses_it_refuses_alike(cql_session: Session, keyspace: str) -> None:
    prepared = cql_session.prepare(insert_cql(f"{keyspace}.interactions", "click"))
    binder = Binder(prepared)
    good = ["user-1", "click", 1, 1, "e", "p", "c", "s", 1, 60]
    bad = [
        [*good[:8], "not an int", 60],  # wrong type
        [*good[:8], 2**31, 60],  # out of range
        [UNSET_VALUE, *good[1:]],  # UNSET in the routing key
        [*good, 1],  # too many values
    ]
    for values in bad:
        with pytest.raises(Exception) as theirs:  # noqa: PT011 - whatever the driver raises
            prepared.bind(values)
        with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
            binder.bind(values)
    short = good[:8]  # too few: the driver pads with UNSET
    same(binder.bind(short), prepared.bind(short))
    dated = [*good[:3], 1_750_000_000.5, *good[4:]]  # a float timestamp: the driver's way
    same(binder.bind(dated), prepared.bind(dated))
