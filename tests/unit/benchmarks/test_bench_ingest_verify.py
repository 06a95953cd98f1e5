"""The ingest benchmark's check of what was stored: a union of the tiers by event id, with
missing, duplicated and unexpected interactions reported apart."""

from benchmarks.ingest.verify import verify


def test_an_interaction_in_cold_and_dirty_in_hot_counts_once() -> None:
    # b was flushed by the worker that lost its partition and consumed again by the next owner
    checked = verify(["a", "b", "c"], cold=["a", "b"], hot=["b", "c"])
    assert checked.exact
    assert (checked.found, checked.in_both_tiers, checked.cold_rows, checked.hot_dirty) == (
        3, 1, 2, 2,
    )  # fmt: skip


def test_copies_inside_a_tier_are_duplicates_and_absent_ones_missing() -> None:
    checked = verify(["a", "b", "c", "d"], cold=["a", "a", "b"], hot=["b", "b", "x"])
    assert not checked.exact
    assert checked.to_json() == {
        "found": 2, "missing": 2, "duplicated": 2, "unexpected": 1, "in_both_tiers": 1,
        "cold_rows": 3, "hot_dirty": 3,
    }  # fmt: skip


def test_nothing_expected_nothing_stored_is_exact() -> None:
    assert verify([], cold=[], hot=[]).exact
