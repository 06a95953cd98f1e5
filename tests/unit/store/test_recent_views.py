"""The compact recent views merge to the old path's answer: property tests over generated
histories (writes in chunks, hydrations refreshing the view, time passing, expiry, redeliveries,
equal timestamps), against the in-memory cold store's ``hydration_rows`` as the oracle."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.settings import RetentionSettings
from store.cold import read_window
from store.hot_codec import encode_row
from store.interactions import INTERACTION_KINDS, Interaction
from store.recent_views import HotMember, merge, newest_first, pack_base, pack_delta
from tests.support.memory_cold import InMemoryColdStore

DAY_MS = 86_400_000
START_MS = 1_750_000_000_000
RETENTION = RetentionSettings(click_days=2, wishlist_days=3, order_days=5)


class Clock:
    def __init__(self) -> None:
        self.now_ms = START_MS

    def __call__(self) -> int:
        return self.now_ms


def interaction(kind: str, event: int, ts_ms: int) -> Interaction:
    """The same (kind, event, ts) always gives the same interaction (a redelivery)."""
    common = (f"e{event}", "user-1", f"p{event % 3}", "c1", ts_ms)
    if kind == "click":
        return Interaction("click", *common, surface="home", position=event % 5)
    if kind == "order":
        price = Decimal(f"{event}.50")
        return Interaction("order", *common, order_id="o", quantity=1, price=price, currency="EUR")
    return Interaction("wishlist", *common, action="ADD")


def events(ahead_days: int) -> st.SearchStrategy[tuple[str, int, int]]:
    return st.tuples(
        st.sampled_from(INTERACTION_KINDS),
        st.integers(0, 12),  # few ids: repeats and equal times
        st.integers(-6 * DAY_MS, ahead_days * DAY_MS).map(lambda d: d - d % 3_600_000),
    )


def steps(ahead_days: int) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """Writes (ts relative to now) and hydrations after time passed."""
    return st.lists(
        st.one_of(
            st.tuples(st.just("write"), st.lists(events(ahead_days), max_size=8)),
            st.tuples(st.just("hydrate"), st.integers(0, 2 * DAY_MS)),
        ),
        max_size=14,
    )


def windows(now_ms: int) -> dict[str, tuple[int, int]]:
    return {k: read_window(RETENTION.days(k), now_ms, None) for k in INTERACTION_KINDS}


def old_path(cold: InMemoryColdStore, limit: int, now_ms: int) -> dict[str, list[HotMember]]:
    rows = asyncio.run(cold.hydration_rows("user-1", limit=limit, now_ms=now_ms))
    return {
        kind: sorted(((r[3], encode_row(kind, r)) for r in of), key=newest_first)
        for kind, of in rows.items()
    }


def replay(history: list[tuple[str, Any]], limits: list[int]) -> None:
    """Run the history against the views and the in-memory cold store, comparing every
    hydration; a hydration whose packs are not authoritative builds its base from the rows."""
    clock = Clock()
    cold = InMemoryColdStore(RETENTION, clock=clock)
    packs: list[bytes] = []
    for step, arg in [*history, ("hydrate", 0)]:
        if step == "write":
            chunk = [interaction(k, e, clock.now_ms + d) for k, e, d in arg]
            asyncio.run(cold.write_many(chunk))
            kept = [i for i in chunk if i.ts_ms > clock.now_ms - RETENTION.days(i.kind) * DAY_MS]
            if kept:
                packs.append(pack_delta(kept))
            continue
        clock.now_ms += arg
        limit = limits[clock.now_ms % len(limits)]
        expected = old_path(cold, limit, clock.now_ms)
        merged = merge(packs, limit=limit, windows=windows(clock.now_ms), complete=True)
        if merged is None:
            packs = [pack_base(limit, expected)]
            continue
        assert merged.view == expected
        if merged.refresh:
            packs = [pack_base(limit, merged.base)]


@settings(max_examples=300, deadline=None)
@given(history=steps(ahead_days=2), limit=st.integers(1, 6))
def test_merged_views_are_the_old_paths_answer(history: list[tuple[str, Any]], limit: int) -> None:
    """Rows ahead of the read window (clock skew) included: kept by every base."""
    replay(history, [limit])


@settings(max_examples=200, deadline=None)
@given(history=steps(ahead_days=1), limits=st.lists(st.integers(1, 6), min_size=2, max_size=3))
def test_a_changed_limit_reads_the_rows_once(
    history: list[tuple[str, Any]], limits: list[int]
) -> None:
    """A base from the rows holds nothing ahead of the window: ingest refuses events more than
    the window's day ahead (``schemas.validation``), so the histories here stay inside it."""
    replay(history, limits)


def test_packs_are_authoritative_only_with_a_base_of_at_least_limit_or_complete() -> None:
    delta = pack_delta([interaction("click", 1, START_MS)])
    now = windows(START_MS)
    assert merge([delta], limit=5, windows=now, complete=False) is None
    assert merge([pack_base(4, {}), delta], limit=5, windows=now, complete=False) is None
    assert merge([pack_base(4, {}), delta], limit=5, windows=now, complete=True) is None
    merged = merge([pack_base(5, {}), delta], limit=5, windows=now, complete=False)
    assert merged is not None
    assert [m for _, m in merged.view["click"]] == [
        encode_row("click", interaction("click", 1, START_MS).row())
    ]
    assert merge([], limit=5, windows=now, complete=True) == merge(
        [pack_base(9, {})], limit=5, windows=now, complete=False
    )


def test_one_unchanged_base_needs_no_refresh() -> None:
    items = [interaction("order", n, START_MS - n * DAY_MS) for n in range(3)]
    first = merge([pack_delta(items)], limit=2, windows=windows(START_MS), complete=True)
    assert first is not None
    assert first.refresh
    again = merge([pack_base(2, first.base)], limit=2, windows=windows(START_MS), complete=True)
    assert again is not None
    assert not again.refresh
    assert again.view == first.view
