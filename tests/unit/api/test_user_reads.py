"""``api.user_reads``: one user's concurrent requests of one query are one read while a read is
out; each request gets the answer it would get alone; a request's read is sent after it asked,
so it sees a write finished before it asked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import httpx

from api.user_reads import UserReads
from core.settings import RetentionSettings, SessionSettings
from store.interactions import INTERACTION_KINDS, Interaction
from store.read_path import InteractionReader, ReadFailed, RecentInteractions
from tests.hot_store_contract import hydrate
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_hot import InMemoryHotStore
from tests.unit.api.conftest import NOW_MS, MemoryBackends
from tests.unit.api.test_routes import click, seed


class SlowHot(InMemoryHotStore):
    """Records each recent read's users; each takes ``delay_s``."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(SessionSettings(), RetentionSettings(), clock=lambda: NOW_MS)
        self.delay_s = delay_s
        self.reads: list[list[str]] = []

    async def recent_many(
        self,
        user_ids: Iterable[str],
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> dict[str, list[Interaction]]:
        users = list(user_ids)
        self.reads.append(users)
        await asyncio.sleep(self.delay_s)
        return await super().recent_many(
            users, kinds=kinds, limit=limit, since_ms=since_ms, now_ms=now_ms
        )


def reads_over(hot: SlowHot, max_in_flight: int = 1) -> UserReads:
    cold = InMemoryColdStore(RetentionSettings(), clock=lambda: NOW_MS)
    return UserReads(InteractionReader(hot, cold, timeout_s=1.0), max_in_flight=max_in_flight)


async def live(hot: SlowHot, user: str, ts_ms: int) -> None:
    await hydrate(hot, user, [click(user, 1, ts_ms)], partition=0, now_ms=NOW_MS)


async def test_requests_while_a_read_is_out_are_one_read_and_each_gets_its_answer() -> None:
    hot = SlowHot(delay_s=0.02)
    await live(hot, "u1", NOW_MS - 10)
    await live(hot, "u2", NOW_MS - 20)
    reads = reads_over(hot)
    query = {"kinds": INTERACTION_KINDS, "limit": 10, "since_ms": None}
    first = asyncio.ensure_future(reads.recent_json("u1", **query))
    await asyncio.sleep(0.005)
    later = [asyncio.ensure_future(reads.recent_json(u, **query)) for u in ("u1", "u2", "u1")]
    answers = [await first, *[await f for f in later]]
    assert hot.reads == [["u1"], ["u1", "u2"]]
    assert [(a.user_id, a.source) for a in answers if isinstance(a, RecentInteractions)] == [
        ("u1", "hot"), ("u1", "hot"), ("u2", "hot"), ("u1", "hot")]  # fmt: skip
    alone = await reads.reader.recent_json_many(["u2"], kinds=INTERACTION_KINDS, limit=10)
    assert answers[2] == alone[0]


async def test_a_write_finished_before_a_request_is_in_its_answer() -> None:
    hot = SlowHot(delay_s=0.02)
    await live(hot, "u1", NOW_MS - 10)
    reads = reads_over(hot, max_in_flight=2)
    query = {"kinds": INTERACTION_KINDS, "limit": 10, "since_ms": None}
    before = asyncio.ensure_future(reads.recent_json("u1", **query))
    await asyncio.sleep(0.005)  # its read is out
    await hot.append([(click("u1", 2, NOW_MS - 5), 0, 9)], NOW_MS)
    after = await reads.recent_json("u1", **query)
    assert isinstance(after, RecentInteractions)
    assert [i["event_id"] for i in after.interactions] == ["c2", "c1"]
    assert isinstance(await before, RecentInteractions)


async def test_a_failed_read_fails_only_that_reads_requests() -> None:
    hot = SlowHot(delay_s=0.0)
    await live(hot, "u1", NOW_MS - 10)
    reads = reads_over(hot)
    query = {"kinds": INTERACTION_KINDS, "limit": 10, "since_ms": None}
    hot.available = False
    failed = await reads.recent_json("u1", **query)
    assert isinstance(failed, ReadFailed)
    hot.available = True
    assert isinstance(await reads.recent_json("u1", **query), RecentInteractions)


async def test_concurrent_requests_through_the_api_answer_as_one_request_does(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await seed(backends)
    path = "/v1/users/live-user/interactions"
    alone = (await client.get(path)).json()
    together = await asyncio.gather(*(client.get(path) for _ in range(20)))
    assert {r.status_code for r in together} == {200}
    assert all(r.json() == alone for r in together)
