"""The serving value codec and the serving key."""

from __future__ import annotations

import msgpack
import pytest

from features.serving import ServingValue, ServingValueError, decode_serving, encode_serving
from store.feature_store import serving_key, serving_keys
from store.redis_features import slots_of
from store.redis_slots import slot_tag


@pytest.mark.parametrize(
    "values",
    [[], [0, 1.5, None, "c1", True, [1, "x"]], [2**40, -3, 0.1]],
)
@pytest.mark.parametrize("valid_until", [None, 1_780_000_060_000])
def test_round_trip(values: list[object], valid_until: int | None) -> None:
    value = ServingValue("abc123", 1_780_000_000_000, 1_780_000_000_500, valid_until, values)
    assert decode_serving(encode_serving(value)) == value


def test_the_layout_is_the_contracts_msgpack_array() -> None:
    raw = encode_serving(ServingValue("fp", 1, 2, None, [3, 4.5]))
    assert msgpack.unpackb(raw) == [1, "fp", 1, 2, None, [3, 4.5]]


@pytest.mark.parametrize(
    "raw",
    [
        b"\xc1",
        msgpack.packb([2, "fp", 1, 2, None, []]),
        msgpack.packb([1, "fp", 1, 2, None]),
        msgpack.packb([1, "fp", "1", 2, None, []]),
        msgpack.packb({"v": 1}),
        b"",
    ],
)
def test_other_bytes_are_refused(raw: bytes) -> None:
    with pytest.raises(ServingValueError):
        decode_serving(raw)


def test_keys_follow_the_contract_and_share_the_first_keys_slot() -> None:
    assert serving_key("isf", "product", ("p1",), "stats") == (
        f"isf:fv:product:{slot_tag('p1')}:p1:stats"
    )
    assert serving_key("isf", "user_category", ("u1", "c9"), "aff") == (
        f"isf:fv:user_category:{slot_tag('u1')}:u1:c9:aff"
    )
    keys = [
        serving_key("isf", "user", ("u1",), "acts"),
        serving_key("isf", "user_category", ("u1", "c9"), "aff"),
    ]
    assert len(slots_of(keys)) == 1


def test_ids_cannot_break_the_hash_tag_or_collide() -> None:
    one = serving_key("isf", "user_category", ("a:b", "c"), "g")
    two = serving_key("isf", "user_category", ("a", "b:c"), "g")
    assert one != two
    assert serving_key("isf", "product", ("x}{y",), "g") == (
        f"isf:fv:product:{slot_tag('x}{y')}:x%7D%7By:g"
    )
    assert serving_key("isf", "product", ("%3A",), "g") != serving_key(
        "isf", "product", (":",), "g"
    )


def test_serving_keys_go_id_by_id_then_group_by_group() -> None:
    keys = serving_keys("isf", "user_category", [("u1", "c:1"), ("u2", "c2")], ["a", "b"])
    one, two = slot_tag("u1"), slot_tag("u2")
    assert keys == [
        f"isf:fv:user_category:{one}:u1:c%3A1:a",
        f"isf:fv:user_category:{one}:u1:c%3A1:b",
        f"isf:fv:user_category:{two}:u2:c2:a",
        f"isf:fv:user_category:{two}:u2:c2:b",
    ]
