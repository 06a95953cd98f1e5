"""Kept states: taken out while a batch uses them, bounded, least recently written out first."""

from __future__ import annotations

from features.state import EntityState
from features.state_cache import StateCache, state_digest
from store.feature_state import StateKey


def key(n: int) -> StateKey:
    return StateKey("user", (f"u{n}",))


def test_a_kept_state_is_taken_out_and_put_back_with_its_digest() -> None:
    cache = StateCache(10)
    state = EntityState()
    cache.put(key(1), 3, b"blob", state)
    kept = cache.take(key(1))
    assert kept is not None
    assert (kept.version, kept.digest, kept.state) == (3, state_digest(b"blob"), state)
    assert cache.take(key(1)) is None  # taken: a failed write never puts it back


def test_the_least_recently_written_leave_first() -> None:
    cache = StateCache(2)
    for n in (1, 2):
        cache.put(key(n), 1, b"x", EntityState())
    cache.put(key(1), 2, b"y", EntityState())  # written again: now the newest
    cache.put(key(3), 1, b"z", EntityState())
    assert len(cache) == 2
    assert cache.take(key(2)) is None
    assert cache.take(key(1)) is not None
    assert cache.take(key(3)) is not None


def test_a_rewrite_moves_the_version_and_nothing_is_kept_at_capacity_zero() -> None:
    cache = StateCache(1)
    cache.put(key(1), 1, b"x", EntityState())
    cache.rewritten(key(1), 2)
    kept = cache.take(key(1))
    assert kept is not None
    assert kept.version == 2
    none = StateCache(0)
    none.put(key(1), 1, b"x", EntityState())
    assert len(none) == 0
