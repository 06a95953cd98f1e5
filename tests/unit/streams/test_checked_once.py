"""A message is decoded and validated once while it is pending: early hydration keeps what it
checked (valid only) and the message's batch takes it from there (``EarlyHydration.checked``)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from schemas.validation import MAX_FUTURE_MS
from streams.ingest import Accepted
from streams.messages import RawMessage
from tests.unit.streams.test_early_hydration import Early
from tests.unit.streams.world import NOW_MS, app_open, click


@pytest.fixture
def e() -> Early:
    return Early()


def count_checks(e: Early) -> Counter[int]:
    """Counts ``IngestPipeline.check`` per offset from now on."""
    checks: Counter[int] = Counter()
    check = e.world.pipeline.check

    def counted(message: RawMessage, now_ms: int) -> Accepted:
        checks[message.offset] += 1
        return check(message, now_ms)

    e.world.pipeline.check = counted  # type: ignore[method-assign]
    return checks


async def test_each_message_is_checked_once_with_the_same_view(e: Early) -> None:
    checks = count_checks(e)
    batch = e.messages([click(1), app_open(2), click(3), click(4, "u2"), app_open(5), click(6)])
    e.see(batch)
    await e.early.wait()
    await e.process(batch)
    assert checks == {m.offset: 1 for m in batch}
    assert await e.view() == ["c6", "c3", "c1"]
    assert await e.cold("u2") == ["c4"]
    assert e.early.checked(batch[0]) is None  # handled: nothing kept


async def test_what_early_hydration_checked_is_the_batchs_own_check(e: Early) -> None:
    batch = e.messages([click(1), app_open(2), click(3)])
    e.see(batch)
    await e.early.wait()
    kept = e.early.checked(batch[0])
    assert kept == e.world.pipeline.check(batch[0], NOW_MS)
    assert e.early.checked(batch[2]) is None  # after the app_open: not checked early
    copy = dataclasses.replace(batch[0])  # a Faust message is converted to an equal copy
    assert kept is not None
    assert e.early.checked(copy) == dataclasses.replace(kept, message=copy)
    assert e.early.checked(dataclasses.replace(batch[0], value=batch[2].value)) is None


async def test_a_bad_result_is_not_kept_and_the_batch_checks_again(e: Early) -> None:
    kind, record = click(1)
    ahead: dict[str, Any] = {**record, "ts": NOW_MS + MAX_FUTURE_MS + 500}
    batch = e.messages([(kind, ahead), app_open(2)])
    e.see(batch)
    await e.early.wait()
    assert await e.view() == []  # too far ahead when early hydration checked it
    assert e.early.checked(batch[0]) is None
    e.world.clock.now += 1_000  # valid by the time its batch runs: accepted, as before
    await e.process(batch)
    assert e.world.dead_letters.letters == []
    assert e.metrics.absorbed._value.get() == 1  # into the session the app_open started


async def test_a_rebalance_drops_what_was_checked(e: Early) -> None:
    batch = e.messages([click(1), app_open(2)])
    e.see(batch)
    await e.early.wait()
    assert e.early.checked(batch[0]) is not None
    e.early.forget({0})
    assert e.early.checked(batch[0]) is None
