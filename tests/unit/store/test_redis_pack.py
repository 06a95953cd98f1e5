"""The hiredis command packer sends the bytes redis-py's own packer would."""

from __future__ import annotations

from decimal import Decimal

import pytest
from redis.asyncio import Connection
from redis.exceptions import DataError

from store.hot_codec import encode, encode_row
from store.redis_pack import HiredisPackedConnection, packed_connection
from tests.store_contract import NOW_MS, click, order, wishlist

COMMANDS = [
    ("EVALSHA", "ab12", 2, "is:{u}:session", "is:{ü}:dirty", -NOW_MS, b"e1\x00[1]", "3600"),
    ("ZRANGEBYSCORE", "k", -5, -1, "WITHSCORES", "LIMIT", 0, 500),
    ("SCRIPT LOAD", "return 1"),
    (b"SCRIPT LOAD", b"return 1"),
    ("SET", "k", 1.5, "EX", 60),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_packs_the_bytes_redis_py_packs(command: tuple[object, ...]) -> None:
    ours = b"".join(HiredisPackedConnection().pack_command(*command))
    theirs = b"".join(Connection().pack_command(*command))
    assert ours == theirs


@pytest.mark.parametrize("bad", [None, True, object()])
def test_unpackable_arguments_are_data_errors(bad: object) -> None:
    with pytest.raises(DataError):
        HiredisPackedConnection().pack_command("SET", "k", bad)


def test_only_plain_tcp_urls_get_the_packed_connection() -> None:
    assert packed_connection("redis://127.0.0.1:6390/0") == {
        "connection_class": HiredisPackedConnection
    }
    assert packed_connection("rediss://example:6380/0") == {}
    assert packed_connection("unix:///run/redis.sock") == {}


def test_a_cold_row_encodes_to_the_interactions_member() -> None:
    items = [
        click("c1", NOW_MS, surface="home", position=0),
        order("o1", NOW_MS, price=Decimal("1234567.0500"), currency=None),
        wishlist("w-é", NOW_MS - 1),
    ]
    for item in items:
        assert encode_row(item.kind, item.row()) == encode(item)
    assert encode(items[1]).endswith(b',"1234567.0500",null]')
