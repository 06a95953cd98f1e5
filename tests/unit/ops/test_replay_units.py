"""Replay's pure parts: the token bucket, times and offsets files, the group name, tombstones,
judging a batch with the worker's rules, and waiting out a cold-tier outage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from core.retry import RetryPolicy
from core.settings import RetentionSettings
from ops.rate import TokenBucket
from ops.replay import Replay
from ops.replay_batch import BatchJudge
from ops.replay_plan import ReplayPlanError, group_name, parse_time, read_offsets_file
from schemas.codec import default_codec, encode
from schemas.intake import HEADER_REASON
from store.tombstones import TombstoneCache
from tests.support.memory_cold import InMemoryColdStore
from tests.unit.schemas.events import sample
from tests.unit.streams.world import Forgotten, worker_settings

DAY_MS = 86_400_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_the_bucket_holds_the_rate_over_many_takes() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2000, burst=200, monotonic=clock, sleep=clock.sleep)
    for _ in range(100):
        await bucket.take(200)
    assert clock.now == pytest.approx(100 * 200 / 2000, rel=0.01)


async def test_the_bucket_saves_no_more_than_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, burst=10, monotonic=clock, sleep=clock.sleep)
    await bucket.take(1)
    clock.now = 60.0  # idle a minute: only 10 tokens saved
    await bucket.take(110)
    assert clock.now == pytest.approx(61.0)


async def test_the_bucket_starts_empty_at_its_first_take_so_no_second_overshoots() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2000, burst=400, monotonic=clock, sleep=clock.sleep)
    clock.now = 5.0  # connecting and seeking: no tokens are saved before the first take
    taken = 0
    for _ in range(30):
        await bucket.take(200)
        taken += 200
        assert taken <= 2000 * (clock.now - 5.0) + 1e-6
    assert clock.now - 5.0 == pytest.approx(30 * 200 / 2000)


def test_times_parse_as_iso_epoch_ms_or_earliest() -> None:
    assert parse_time("earliest") == "earliest"
    assert parse_time("1700000000000") == 1_700_000_000_000
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000_000
    with pytest.raises(ReplayPlanError, match="ISO 8601"):
        parse_time("yesterday")


def test_an_offsets_file_is_read_or_refused_clearly(tmp_path: Path) -> None:
    good = tmp_path / "offsets.json"
    good.write_text('{"events": {"0": 10, "3": 7}}')
    assert read_offsets_file(good) == {("events", 0): 10, ("events", 3): 7}
    bad = tmp_path / "bad.json"
    bad.write_text('["events"]')
    with pytest.raises(ReplayPlanError, match="topic ->"):
        read_offsets_file(bad)


def test_the_same_request_names_the_same_group() -> None:
    one = group_name("r", {"topics": ["a"], "from": 1})
    assert one == group_name("r", {"from": 1, "topics": ["a"]})
    assert one != group_name("r", {"topics": ["a"], "from": 2})
    assert one.startswith("r-")


async def test_tombstones_cover_events_up_to_the_forget_time() -> None:
    cache = TombstoneCache(Forgotten({"u1": 1000}), refresh_s=1)
    await cache.refresh_if_due()
    assert cache.is_forgotten("u1", 1000)
    assert not cache.is_forgotten("u1", 1001)
    assert not cache.is_forgotten("u2", 5)


class Message:
    def __init__(self, offset: int, value: bytes, partition: int = 0) -> None:
        self._offset, self._value, self._partition = offset, value, partition

    def topic(self) -> str:
        return "events"

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes:
        return b"k"


async def test_a_batch_is_judged_with_the_worker_rules() -> None:
    now = int(time.time() * 1000)
    tombstones = TombstoneCache(Forgotten({"gone": now}), refresh_s=1)
    await tombstones.refresh_if_due()
    judge = BatchJudge(
        default_codec(), RetentionSettings(), tombstones, dead_letter_topic="dlq", users=None
    )

    def click(**changes: Any) -> bytes:
        return encode("click", sample("click", **{"ts": now - DAY_MS, **changes}))

    values = [
        click(),
        click(user_id="gone"),
        click(ts=now - 100 * DAY_MS),  # past the 90 days of clicks
        b"not avro",
        click(),  # at the end offset: not in the range
    ]
    messages = [Message(offset, value) for offset, value in enumerate(values)]
    positions = {("events", 0): 0}
    judged = await judge.judge(messages, {("events", 0): 4}, positions, now)
    assert [i.kind for i in judged.interactions] == ["click"]
    assert judged.counts["forgotten"]["click"] == 1
    assert judged.counts["expired"]["click"] == 1
    assert judged.counts["dead_lettered"]["unknown"] == 1
    assert dict(judged.letters[0].headers)[HEADER_REASON] == b"bad_magic"
    assert positions == {("events", 0): 4}
    assert judged.next_offsets == {("events", 0): 4}


async def test_a_cold_tier_outage_is_waited_out_and_the_batch_written_once_back() -> None:
    now = int(time.time() * 1000)
    tombstones = TombstoneCache(Forgotten({}), refresh_s=1)
    await tombstones.refresh_if_due()
    judge = BatchJudge(
        default_codec(), RetentionSettings(), tombstones, dead_letter_topic="dlq", users=None
    )
    values = [encode("click", sample("click", ts=now - n, event_id=f"e{n}")) for n in range(3)]
    messages = [Message(offset, value) for offset, value in enumerate(values)]
    judged = await judge.judge(messages, {("events", 0): 3}, {("events", 0): 0}, now)
    cold = InMemoryColdStore(RetentionSettings())
    cold.fail_next(3, after_rows=1)  # three failed attempts, each after writing one row
    replay = Replay(
        worker_settings(), cold, judge, tombstones, dead_letters=None,
        retry=RetryPolicy(initial_s=0.001, max_s=0.001),
    )  # fmt: skip
    written = await replay._write(judged)
    assert written == {"click": 3}
    assert cold.row_count() == 3  # the retries rewrote the first row: idempotent
