"""The read API's decoding of hot-tier members straight to JSON: the same items as
``decode(...).to_json()``, one member at a time or all at once."""

from __future__ import annotations

import random
from decimal import Decimal

from benchmarks.harness.records import interaction_record
from store.hot_codec import decode, decode_json, decode_json_many, encode
from store.interactions import INTERACTION_KINDS, Interaction


def test_many_members_decode_as_each_does_alone() -> None:
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
    members = [encode(item) for item in items]
    expected = [decode("u1", member).to_json() for member in members]
    assert [decode_json(member) for member in members] == expected
    assert decode_json_many(members) == expected
    assert decode_json_many([]) == []
