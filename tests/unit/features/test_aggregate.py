"""Fences, lateness, pruning and the state's encoding."""

from __future__ import annotations

import random

from features.aggregate import apply_events, entity_id, scaled_value
from features.plan import aggregate_id
from features.state import DISTINCT_TILE_CAP, EntityState
from features.tiles import DAY_MS, HOUR_MS, MINUTE_MS
from tests.unit.features.test_evaluate import LATENESS, NOW, evaluate, event, script, user_state
from tests.unit.features.user_plan import plans


def test_a_redelivered_batch_counts_once() -> None:
    plan = plans()["user"]
    state = user_state()
    once = evaluate(state, NOW)
    result = apply_events(plan, state, script()[3:], LATENESS)  # offsets 4..9 again
    assert (result.applied, result.duplicates) == (0, 6)
    assert evaluate(state, NOW) == once


def test_fences_are_per_source_partition() -> None:
    plan = plans()["product"]
    state = EntityState()
    a = event("click", NOW - MINUTE_MS, 7)
    b = a.__class__(a.kind, a.ts_ms, a.fields, partition=1, offset=7)
    result = apply_events(plan, state, [a, b, a, b], LATENESS)
    assert (result.applied, result.duplicates) == (2, 2)
    assert {p: f.offset for p, f in state.fences.items()} == {0: 7, 1: 7}


def test_a_late_event_within_lateness_lands_in_its_tile() -> None:
    state = user_state()  # newest event at NOW - 5 min
    plan = plans()["user"]
    late = event("click", NOW - 50 * MINUTE_MS, 10, category_id="c9")
    assert apply_events(plan, state, [late], LATENESS).applied == 1
    values, _ = evaluate(state, NOW)
    assert values[0] == 3  # clicks_1h: -50, -30, -10 min
    assert values[6] == 4  # c9 joins c2, c3, c4
    assert evaluate(state, NOW + 11 * MINUTE_MS)[0][0] == 2  # the late click's tile left first


def test_an_event_later_than_the_lateness_is_counted_and_dropped() -> None:
    state = user_state()
    plan = plans()["user"]
    too_late = event("click", NOW - 5 * MINUTE_MS - LATENESS - 1, 10)
    result = apply_events(plan, state, [too_late], LATENESS)
    assert (result.applied, result.late) == (0, 1)
    assert state.late_dropped == 1
    assert evaluate(state, NOW)[0][2] == 5  # clicks_7d unchanged
    assert state.fences[0].offset == 10  # and it is not applied again on a redelivery


def test_tiles_past_the_longest_window_and_lateness_are_pruned() -> None:
    plan = plans()["user"]
    state = user_state()
    apply_events(plan, state, [event("wishlist", NOW + 25 * DAY_MS, 10)], LATENESS)
    clicks_7d = state.tiles[aggregate_id(f"count|click||{HOUR_MS}")]
    assert not clicks_7d  # every click is > 7 d + 1 h behind
    orders = state.tiles[aggregate_id(f"sum|order|quantity*price|{HOUR_MS}")]
    assert sorted(orders) == [(NOW - 3 * DAY_MS) // HOUR_MS, (NOW - 10 * MINUTE_MS) // HOUR_MS]


def test_distinct_sets_are_bounded_per_tile() -> None:
    plan = plans()["user"]
    state = EntityState()
    clicks = [
        event("click", NOW - MINUTE_MS, i, category_id=f"c{i}")
        for i in range(DISTINCT_TILE_CAP + 10)
    ]
    apply_events(plan, state, clicks, LATENESS)
    assert evaluate(state, NOW)[0][6] == DISTINCT_TILE_CAP


def test_state_encoding_round_trips() -> None:
    state = user_state()
    state.attrs[aggregate_id("attribute|*|category_id")] = (NOW, 0, 3, "c1")
    decoded = EntityState.decode(state.encode())
    assert decoded == state
    assert evaluate(decoded, NOW) == evaluate(state, NOW)
    assert len(state.encode()) < 200


def test_entity_ids_and_scaled_values() -> None:
    assert entity_id(("user_id", "category_id"), {"user_id": "u", "category_id": "c"}) == (
        "u",
        "c",
    )
    assert entity_id(("product_id",), {"user_id": "u"}) is None
    assert scaled_value(("quantity", "price"), {"quantity": 3, "price": "0.3333"}) == 9999
    assert scaled_value(("quantity", "price"), {"quantity": 3}) == 0
    assert DAY_MS == 24 * HOUR_MS


def test_pruning_skipped_while_it_can_drop_nothing_keeps_what_a_full_prune_keeps() -> None:
    """Random batches over lagging source partitions, late and future events: the state that
    skips pruning while ``prune_due_ms`` says nothing can go encodes as one pruned every time."""
    rng = random.Random(7)
    for plan in plans().values():
        skipping, full = EntityState(), EntityState()
        offsets = [0, 0, 0]
        clock = [NOW, NOW - 2 * DAY_MS, NOW - 9 * DAY_MS]  # partitions far behind each other
        for _ in range(300):
            batch = []
            for _ in range(rng.randint(1, 6)):
                partition = rng.randrange(3)
                clock[partition] += rng.choice([0, MINUTE_MS, HOUR_MS, 7 * HOUR_MS, DAY_MS])
                ts = clock[partition] - rng.choice([0, 0, 0, 30 * MINUTE_MS, 2 * HOUR_MS])
                offsets[partition] += 1
                kind = rng.choice(["click", "order", "wishlist"])
                e = event(kind, ts, offsets[partition], category_id=f"c{rng.randrange(5)}")
                batch.append(e._replace(partition=partition))
            apply_events(plan, skipping, batch, LATENESS)
            full.prune_due_ms = 0  # forget: prune everything prunable
            apply_events(plan, full, batch, LATENESS)
            assert skipping.encode() == full.encode()
