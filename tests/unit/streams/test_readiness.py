"""The workers' /readyz answer: ready only while the consumer holds partitions."""

from __future__ import annotations

from streams.readiness import readiness


def test_ready_with_the_held_partitions_sorted() -> None:
    assert readiness({7, 1, 3}, rebalancing=False) == (
        {"status": "ready", "partitions": [1, 3, 7]},
        200,
    )


def test_not_ready_without_partitions() -> None:
    body, status = readiness([], rebalancing=False)
    assert status == 503
    assert body["reason"] == "no partitions assigned"


def test_not_ready_while_rebalancing_even_if_partitions_are_still_listed() -> None:
    body, status = readiness([0, 1], rebalancing=True)
    assert (status, body["reason"], body["partitions"]) == (503, "rebalancing", [])
