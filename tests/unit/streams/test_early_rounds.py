"""A round of early hydration: bounded by app_opens and by the members it writes."""

from __future__ import annotations

from streams.early_rounds import ROUND_MAX, take_round


def test_a_round_stops_before_the_user_that_would_pass_its_members() -> None:
    sizes = [("a", 1_500), ("b", 1_500), ("c", 1_500), ("d", 10)]
    assert take_round(sizes, 4_000) == ["a", "b"]  # in order: d waits behind c


def test_a_round_takes_its_first_user_whatever_its_size() -> None:
    assert take_round([("a", 9_000), ("b", 1)], 4_000) == ["a"]


def test_a_round_takes_at_most_round_max_users() -> None:
    sizes = [(f"u{n}", 0) for n in range(ROUND_MAX + 1)]
    assert len(take_round(sizes, 4_000)) == ROUND_MAX
    assert take_round([], 4_000) == []
