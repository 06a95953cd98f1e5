"""The read API's decoding of hot-tier members straight to JSON: the same items as
``decode(...).to_json()``, one member at a time, all at once, or remembered by their bytes."""

from __future__ import annotations

import random
from decimal import Decimal

from benchmarks.harness.records import interaction_record
from store.hot_codec import RememberedJson, decode, decode_json, decode_json_many, encode
from store.interactions import INTERACTION_KINDS, Interaction


def sample_members() -> list[bytes]:
    rng = random.Random(7)
    items = [
        Interaction.from_record(
            kind, interaction_record(kind, "u1", f"e{n}", 1_790_000_000 + n, rng)
        )
        for n in range(60)
        for kind in INTERACTION_KINDS
    ]
    items.append(
        Interaction(
            "order", "odd\x00id\"é", "u1", "p", "c", 5, order_id="o", quantity=2,
            price=Decimal("12.50"),
        )
    )  # fmt: skip
    return [encode(item) for item in items]


def test_many_members_decode_as_each_does_alone() -> None:
    members = sample_members()
    expected = [decode("u1", member).to_json() for member in members]
    assert [decode_json(member) for member in members] == expected
    assert decode_json_many(members) == expected
    assert decode_json_many([]) == []


def test_remembered_members_decode_the_same_in_any_mix_of_known_and_new() -> None:
    members = sample_members()
    expected = {member: decode_json(member) for member in members}
    remembered = RememberedJson(max_members=100)
    for chunk in (members[:30], members[10:50], members[:50], members[150:], members[::7]):
        assert remembered.decode_many(chunk) == [expected[m] for m in chunk]
        assert len(remembered) <= 100
    again = remembered.decode_many(members[-20:])  # all remembered: the same dicts
    assert all(a is b for a, b in zip(again, remembered.decode_many(members[-20:]), strict=True))
    assert remembered.decode_many([]) == []
