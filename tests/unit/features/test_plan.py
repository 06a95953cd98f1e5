"""The shipped definitions compile into shared aggregates; repartition records round-trip."""

from __future__ import annotations

from core.settings import FeatureSettings
from features.catalogue import load_catalogue
from features.plan import plans_from_catalogue
from schemas.codec import default_codec
from store.feature_state import StateKey, state_key
from store.redis_slots import slot_tag
from streams.features.records import decode_repartitioned, repartition_of, route
from streams.messages import RawMessage

NOW = 1_795_000_000_000


def test_the_shipped_definitions_share_aggregates() -> None:
    catalogue = load_catalogue(FeatureSettings().definitions_path)
    plans = plans_from_catalogue(catalogue)
    assert set(plans) == {"user", "product", "category", "user_category"}
    for plan in plans.values():
        served = sum(len(group.features) for group in plan.groups)
        assert len(plan.aggregates) < served  # windows of one kind share their tiles
        for group in plan.groups:
            assert [f.spec.name for f in group.features] == [
                f.name for f in catalogue.served(group.name)
            ]


def test_events_are_routed_to_local_entities_and_the_repartition_topic() -> None:
    catalogue = load_catalogue(FeatureSettings().definitions_path)
    plans = plans_from_catalogue(catalogue)
    codec = default_codec()
    record = {"event_id": "e1", "user_id": "u1", "ts": NOW - 1000, "product_id": "p1",
              "category_id": "c1", "surface": "search", "position": 3}  # fmt: skip
    messages = [
        RawMessage("events", 5, 41, b"u1", codec.encode("click", record)),
        RawMessage("events", 5, 42, b"u1", b"not avro"),
    ]
    routed = route(codec, plans, messages, NOW, 12)
    assert routed.bad == 1
    assert {(b.shard, b.key) for b in routed.local} == {
        ("u5", StateKey("user", ("u1",))),
        ("u5", StateKey("user_category", ("u1", "c1"))),
    }
    assert routed.repartitioned == 2  # product and category
    assert {p for p, _, _ in routed.outgoing} == {
        repartition_of("p1", 12),
        repartition_of("c1", 12),
    }
    incoming = [RawMessage("rp", 7, i, k, v) for i, (_, k, v) in enumerate(routed.outgoing)]
    batches = decode_repartitioned(incoming)
    assert {(b.shard, b.key) for b in batches} == {
        ("e7", StateKey("product", ("p1",))),
        ("e7", StateKey("category", ("c1",))),
    }
    event = batches[0].events[0]
    assert (event.partition, event.offset, event.ts_ms, event.kind) == (5, 41, NOW - 1000, "click")


def test_state_keys_share_the_entity_slot_and_escape_ids() -> None:
    assert state_key("isf", StateKey("user_category", ("u:1", "c1"))) == (
        f"isf:fv:user_category:{slot_tag('u:1')}:u%3A1:c1:_state"
    )
