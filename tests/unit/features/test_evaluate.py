"""Every feature type against hand-computed values, sliding windows and valid_until."""

from __future__ import annotations

from typing import Any

from features.aggregate import FeatureEvent, apply_events
from features.evaluate import evaluate_group, window_values
from features.state import EntityState
from features.tiles import DAY_MS, HOUR_MS, MINUTE_MS, next_change_ms, window_tiles
from tests.unit.features.user_plan import plans

T0 = 1_795_000_000_000 // DAY_MS * DAY_MS  # a midnight: tiles start on round numbers
LATENESS = HOUR_MS
NOW = T0 + 10 * DAY_MS  # 10 days after T0, 00:00


def event(kind: str, ts: int, offset: int, **fields: Any) -> FeatureEvent:
    base = {"user_id": "u1", "product_id": "p1", "category_id": "c1"}
    return FeatureEvent(kind, ts, {**base, **fields}, partition=0, offset=offset)


def script() -> list[FeatureEvent]:
    return [
        event("order", NOW - 20 * DAY_MS, 1, quantity=1, price="100.00"),  # 30 d only
        event("order", NOW - 3 * DAY_MS, 2, quantity=2, price="12.50"),
        event("click", NOW - 2 * DAY_MS, 3, category_id="c1"),  # 7 d, not 24 h
        event("click", NOW - 5 * HOUR_MS, 4, category_id="c2"),
        event("click", NOW - 90 * MINUTE_MS, 5, category_id="c3"),
        event("click", NOW - 30 * MINUTE_MS, 6, category_id="c3"),
        event("click", NOW - 10 * MINUTE_MS + 5, 7, category_id="c4"),
        event("order", NOW - 10 * MINUTE_MS, 8, quantity=3, price="0.3333"),
        event("wishlist", NOW - 5 * MINUTE_MS, 9),
    ]


def user_state() -> EntityState:
    plan = plans()["user"]
    state = EntityState()
    apply_events(plan, state, script(), LATENESS)
    return state


def evaluate(state: EntityState, now: int) -> tuple[list[Any], int | None]:
    plan = plans()["user"]
    result = evaluate_group(plan, plan.groups[0], state, now)
    return result.values, result.valid_until_ms


def test_every_user_feature_type_equals_the_hand_computed_value() -> None:
    values, valid_until = evaluate(user_state(), NOW)
    # clicks_1h: the clicks at -30 min and -10 min; orders_7d: -3 d and -10 min
    # clicks_7d: -2 d, -5 h, -90 min, -30 min, -10 min; value_30d: 100 + 25 + 0.9999
    # orders/clicks = 2 / 5; last order at -10 min; 24 h categories: c2, c3, c4
    assert values == [2, 2, 5, 125.9999, 0.4, NOW - 10 * MINUTE_MS, 3]
    # the click at -30 min leaves the 1 h window first (its minute tile + 60 minutes)
    assert valid_until == NOW + 30 * MINUTE_MS


def test_windows_slide_on_time_without_new_events() -> None:
    state = user_state()
    later = NOW + 31 * MINUTE_MS  # the -30 min click left the 1 h window
    assert evaluate(state, later)[0][0] == 1
    # 5 days on: the -3 d order and the -2 d click left the 7 d windows
    values, _ = evaluate(state, NOW + 5 * DAY_MS)
    assert values[:3] == [0, 1, 4]  # the -10 min order; the clicks at -5 h, -90, -30, -10 min
    assert values[4] == 1 / 4
    values, valid_until = evaluate(state, NOW + 40 * DAY_MS)
    assert values == [0, 0, 0, 0.0, 0.0, NOW - 10 * MINUTE_MS, 0]  # ratio 0/0 -> zero_div
    assert valid_until is None  # nothing left to expire


def test_valid_until_is_exactly_when_a_value_changes() -> None:
    state = user_state()
    _, until = evaluate(state, NOW)
    assert until is not None
    before, _ = evaluate(state, until - 1)
    after, _ = evaluate(state, until)
    assert before != after
    assert evaluate(state, NOW)[0] == before


def test_window_covers_now_less_at_most_one_tile() -> None:
    plan = plans()["user"]
    state = EntityState()
    apply_events(plan, state, [event("click", NOW - HOUR_MS + 30_000, 1)], LATENESS)
    assert evaluate(state, NOW)[0][0] == 0  # in the partly covered oldest minute: excluded
    assert evaluate(state, NOW - 1)[0][0] == 1  # within (now - 1 h, now] and its tile covered


def test_a_future_tile_enters_the_window_when_its_time_comes() -> None:
    plan = plans()["user"]
    state = EntityState()
    apply_events(plan, state, [event("click", NOW + 2 * MINUTE_MS, 1)], LATENESS)
    values, until = evaluate(state, NOW)
    assert values[0] == 0
    assert until == NOW + 2 * MINUTE_MS
    assert evaluate(state, until)[0][0] == 1


def test_product_attribute_is_the_newest_by_event_time() -> None:
    plan = plans()["product"]
    state = EntityState()
    apply_events(
        plan,
        state,
        [
            event("click", NOW - 2 * MINUTE_MS, 1, category_id="old"),
            event("click", NOW - 3 * MINUTE_MS, 2, category_id="older-but-later"),
            event("click", NOW - MINUTE_MS, 3, category_id="newest"),
        ],
        LATENESS,
    )
    result = evaluate_group(plan, plan.groups[0], state, NOW)
    assert result.values == ["newest", 3]
    assert result.valid_until_ms == NOW + 2 * MINUTE_MS  # the -3 min tile leaves 5 m first
    assert result.event_ts_ms == NOW - MINUTE_MS


def test_an_empty_state_evaluates_to_the_defaults() -> None:
    values, until = evaluate(EntityState(), NOW)
    assert values == [0, 0, 0, 0.0, 0.0, None, 0]
    assert until is None


def test_one_pass_over_the_windows_equals_each_window_summed_on_its_own() -> None:
    plan = plans()["user"]
    state = user_state()
    for agg_id, tiles in state.tiles.items():  # a tile after now (a clock ahead) enters later
        tiles[(NOW + DAY_MS) // plan.aggregates[agg_id].granularity_ms] = 7
    for now in (NOW, NOW + 20 * MINUTE_MS, NOW + 3 * DAY_MS, NOW - DAY_MS, NOW + 40 * DAY_MS):
        for agg_id, windows in plan.windows.items():
            agg = plan.aggregates[agg_id]
            g = agg.granularity_ms
            held = (
                state.distinct.get(agg_id, {})
                if agg.type == "distinct"
                else state.tiles.get(agg_id, {})
            )
            for window, (value, change) in window_values(agg, state, windows, now).items():
                covered = window_tiles(now, window, g)
                if agg.type == "distinct":
                    expected: Any = len(set().union(*(v for i, v in held.items() if i in covered)))
                else:
                    total = sum(v for i, v in held.items() if i in covered)
                    expected = total if agg.type == "count" else total / 10_000
                assert value == expected
                assert change == next_change_ms(list(held), now, window, g)
