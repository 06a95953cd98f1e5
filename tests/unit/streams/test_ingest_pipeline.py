"""The ingest pipeline on in-memory stores: what is written, what is dead-lettered, retries."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from core.settings import RetentionSettings
from schemas.codec import encode
from store.errors import ColdWriteError
from store.interactions import Interaction
from streams.dead_letters import HEADER_OFFSET, HEADER_REASON
from streams.ingest import IngestPipeline
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_dead_letters import InMemoryDeadLetterSink
from tests.unit.streams.world import World

NOW_MS = 1_750_000_000_000
_offsets = itertools.count()


def click(event_id: str, user: str = "u1", ts: int = NOW_MS - 1000, **extra: Any) -> bytes:
    record = {
        "event_id": event_id, "user_id": user, "ts": ts, "product_id": "p1",
        "category_id": "c1", "surface": "home", "position": 3, **extra,
    }  # fmt: skip
    return encode("click", record)


def message(value: bytes, key: bytes = b"u1") -> RawMessage:
    return RawMessage("events", 0, next(_offsets), key, value)


class RefusingColdStore(InMemoryColdStore):
    """Refuses (for good) any batch containing one given event id."""

    def __init__(self, refused_event_id: str) -> None:
        super().__init__(RetentionSettings(), clock=lambda: NOW_MS)
        self.refused_event_id = refused_event_id

    async def write_many(self, interactions: Sequence[Interaction]) -> int:
        if any(i.event_id == self.refused_event_id for i in interactions):
            raise ColdWriteError(f"row {self.refused_event_id} refused")
        return await super().write_many(interactions)


def pipeline(
    cold: InMemoryColdStore,
) -> tuple[IngestPipeline, InMemoryDeadLetterSink, WorkerMetrics]:
    """The pipeline of a worker built by its factory (no user is in a session here)."""
    world = World(cold=cold)
    return world.pipeline, world.dead_letters, world.metrics


def memory_cold() -> InMemoryColdStore:
    return InMemoryColdStore(RetentionSettings(), clock=lambda: NOW_MS)


def metric(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_interactions_are_written_and_app_opens_are_not() -> None:
    cold = memory_cold()
    ingest, sink, metrics = pipeline(cold)
    # another user's app_open (u1's would hydrate u1: its clicks would go to its session)
    app_open = encode("app_open", {"event_id": "o1", "user_id": "u2", "ts": NOW_MS - 5000})
    order = encode(
        "order",
        {
            "event_id": "e3", "user_id": "u1", "ts": NOW_MS - 500, "product_id": "p2",
            "category_id": "c1", "order_id": "o-1", "quantity": 2, "price": Decimal("19.99"),
            "currency": "EUR",
        },
    )  # fmt: skip
    batch = await ingest.process(
        [
            message(app_open),
            message(click("e1")),
            message(click("e2", ts=NOW_MS - 900)),
            message(order),
        ]
    )
    assert [a.kind for a in batch.accepted] == ["app_open", "click", "click", "order"]
    recent = await cold.recent("u1", now_ms=NOW_MS)
    assert [i.event_id for i in recent] == ["e3", "e2", "e1"]
    assert recent[0].price == Decimal("19.99")
    assert sink.letters == []
    assert metric(metrics, "interstore_events_consumed_total", kind="app_open") == 1
    assert metric(metrics, "interstore_interactions_written_total", kind="click") == 2
    assert metric(metrics, "interstore_batch_size_count") == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"garbage", "bad_magic"),
        (click("e9", user="u" * 257), "id_too_long"),
        (click("e9", ts=NOW_MS + 2 * 86_400_000), "ts_out_of_range"),
        (click("e9", surface="x" * 70_000), "payload_too_large"),
    ],
    ids=["bad_magic", "id_too_long", "ts_out_of_range", "payload_too_large"],
)
async def test_bad_messages_are_dead_lettered_and_the_good_ones_around_them_written(
    value: bytes, reason: str
) -> None:
    cold = memory_cold()
    ingest, sink, metrics = pipeline(cold)
    bad = message(value)
    await ingest.process([message(click("e1")), bad, message(click("e2", ts=NOW_MS - 900))])
    assert [i.event_id for i in await cold.recent("u1", now_ms=NOW_MS)] == ["e2", "e1"]
    [letter] = sink.letters
    assert letter.message == bad
    headers = dict(letter.headers())
    assert headers[HEADER_REASON] == reason.encode()
    assert headers[HEADER_OFFSET] == str(bad.offset).encode()
    assert metric(metrics, "interstore_dead_letters_total", reason=reason) == 1


async def test_an_unavailable_cold_tier_is_retried_until_the_batch_is_written() -> None:
    cold = memory_cold()
    cold.fail_next(3, after_rows=1)  # each failing attempt even writes part of the batch
    ingest, _, metrics = pipeline(cold)
    await ingest.process([message(click(f"e{i}")) for i in range(5)])
    assert len(await cold.recent("u1", now_ms=NOW_MS)) == 5
    assert cold.row_count() == 5  # the retries rewrote the same rows
    assert metric(metrics, "interstore_cold_write_retries_total") == 3


async def test_a_row_the_cold_tier_refuses_for_good_is_dead_lettered_alone() -> None:
    cold = RefusingColdStore("e2")
    ingest, sink, _ = pipeline(cold)
    await ingest.process([message(click(f"e{i}")) for i in range(4)])
    assert sorted(i.event_id for i in await cold.recent("u1", now_ms=NOW_MS)) == ["e0", "e1", "e3"]
    assert [(letter.reason, dict(letter.headers())[HEADER_REASON]) for letter in sink.letters] == [
        ("cold_write_refused", b"cold_write_refused")
    ]


async def test_events_of_a_forgotten_user_older_than_the_tombstone_are_skipped() -> None:
    world = World(cold=memory_cold(), forgotten={"gone": NOW_MS - 800})
    ingest, sink, metrics, cold = world.pipeline, world.dead_letters, world.metrics, world.cold
    batch = await ingest.process(
        [
            message(click("old", user="gone", ts=NOW_MS - 900), key=b"gone"),
            message(click("back", user="gone", ts=NOW_MS - 700), key=b"gone"),  # came back
            message(click("kept")),
        ]
    )
    assert [a.interaction.event_id for a in batch.accepted if a.interaction] == ["back", "kept"]
    assert [i.event_id for i in await cold.recent("gone", now_ms=NOW_MS)] == ["back"]
    assert sink.letters == []
    assert metric(metrics, "interstore_forgotten_events_skipped_total", kind="click") == 1
