"""Each endpoint of the read API against the real stack: tiers, order, filters, batches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from core.clock import wall_clock_ms
from core.settings import Settings
from store.interactions import Interaction
from tests.integration.api.conftest import ADMIN_KEY, Serve, Tiers
from tests.store_contract import click, order, wishlist

MINUTE = 60_000


def history(user: str, now: int, count: int) -> list[Interaction]:
    """``count`` interactions a minute apart, cycling click, order, wishlist; newest last."""
    makers = (click, order, wishlist)
    return [
        makers[n % 3](f"{user}-e{n:04d}", now - (count - n) * MINUTE, user) for n in range(count)
    ]


def event_ids(answer: dict[str, object]) -> list[str]:
    return [item["event_id"] for item in answer["interactions"]]  # type: ignore[attr-defined, index]


@pytest.fixture
async def client(serve: Serve) -> httpx.AsyncClient:  # type: ignore[misc]
    async with serve() as http:
        yield http


async def test_cold_user_newest_first_across_kinds_with_filters(
    client: httpx.AsyncClient, tiers: Tiers
) -> None:
    now = wall_clock_ms()
    items = history("cold-1", now, 30)
    await tiers.in_cold(items)
    newest_first = [item.event_id for item in reversed(items)]

    answer = (await client.get("/v1/users/cold-1/interactions")).json()
    assert answer["source"] == "cold"
    assert event_ids(answer) == newest_first
    assert answer["interactions"][0] == items[-1].to_json()

    limited = (await client.get("/v1/users/cold-1/interactions?limit=5")).json()
    assert event_ids(limited) == newest_first[:5]
    orders = (await client.get("/v1/users/cold-1/interactions?kinds=order")).json()
    assert event_ids(orders) == [i.event_id for i in reversed(items) if i.kind == "order"]

    cutoff = items[20].ts_ms
    iso = datetime.fromtimestamp(cutoff / 1000, UTC).isoformat()
    for since in (str(cutoff), iso):
        recent = (await client.get("/v1/users/cold-1/interactions", params={"since": since})).json()
        assert event_ids(recent) == newest_first[:10]


async def test_live_user_is_served_from_redis_with_its_session_writes(
    client: httpx.AsyncClient, tiers: Tiers
) -> None:
    now = wall_clock_ms()
    before = history("live-1", now - 60 * MINUTE, 10)
    await tiers.in_cold(before)
    during = [click(f"live-1-s{n}", now - 10 * MINUTE + n, "live-1") for n in range(3)]
    await tiers.live("live-1", before, during)

    answer = (await client.get("/v1/users/live-1/interactions?limit=100")).json()
    assert answer["source"] == "hot"
    assert event_ids(answer) == [i.event_id for i in reversed(before + during)]
    clicks = (await client.get("/v1/users/live-1/interactions?kinds=click&limit=2")).json()
    assert event_ids(clicks) == ["live-1-s2", "live-1-s1"]


async def test_concurrent_reads_answer_as_each_alone_and_see_writes_made_before_them(
    serve: Serve, api_settings: Settings, tiers: Tiers
) -> None:
    """One read out at a time (``user_reads_in_flight=1``): the requests meanwhile go out
    together (api.user_reads); each gets what it gets alone, and a write finished before a
    request is in its answer even while earlier reads of that user are out."""
    now = wall_clock_ms()
    await tiers.in_cold(history("cold-2", now, 20))
    await tiers.live("live-2", history("live-2", now - 60 * MINUTE, 20), [])
    api = api_settings.api.model_copy(update={"user_reads_in_flight": 1})
    async with serve(api=api) as client:
        paths = [f"/v1/users/{user}/interactions?limit=50" for user in ("live-2", "cold-2")]
        alone = {path: (await client.get(path)).json() for path in paths}
        together = await asyncio.gather(*(client.get(path) for path in paths * 15))  # < 32: no 503
        assert [r.json() for r in together] == [alone[path] for path in paths * 15]

        earlier = [asyncio.ensure_future(client.get(paths[0])) for _ in range(10)]
        await asyncio.sleep(0)
        await tiers.hot.append([(click("live-2-new", now, "live-2"), 0, 99)], now + 1)
        after = (await client.get(paths[0])).json()
        assert event_ids(after)[0] == "live-2-new"
        assert {r.status_code for r in await asyncio.gather(*earlier)} == {200}


async def test_unknown_user_is_an_empty_cold_answer(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/users/nobody-at-all/interactions")
    assert answer.status_code == 200
    assert answer.json() == {"user_id": "nobody-at-all", "source": "cold", "interactions": []}


async def test_batch_get_answers_every_user_in_request_order(
    client: httpx.AsyncClient, tiers: Tiers
) -> None:
    now = wall_clock_ms()
    cold_users = [f"bc-{n}" for n in range(20)]
    live_users = [f"bl-{n}" for n in range(20)]
    for user in cold_users:
        await tiers.in_cold(history(user, now, 4))
    for user in live_users:
        await tiers.live(user, history(user, now, 4), [])
    users = [*live_users[:10], *cold_users, "", "never-seen", *live_users[10:], "bl-0"]

    answer = await client.post(
        "/v1/interactions:batchGet", json={"user_ids": users, "limit": 3, "kinds": ["click"]}
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["user_id"] for r in results] == users
    for result in results:
        user = result["user_id"]
        if user == "":
            assert result["error"]["status"] == 400
            continue
        assert result["source"] == ("hot" if user.startswith("bl-") else "cold")
        single = await client.get(f"/v1/users/{user}/interactions?limit=3&kinds=click")
        assert result == single.json()


async def test_readiness_says_the_events_topic_is_missing_and_never_creates_it(
    serve: Serve, api_settings: Settings
) -> None:
    admin = AdminClient({"bootstrap.servers": api_settings.kafka.bootstrap_servers})
    topic = api_settings.topics.events
    async with serve() as client:
        for _ in range(2):
            ready = await client.get("/readyz", headers={"X-API-Key": ADMIN_KEY})
            assert ready.status_code == 503
            assert f"topic {topic} is missing" in ready.json()["checks"]["kafka"]
        plain = await client.get("/readyz", headers={"X-API-Key": ""})  # no key: no details
        assert plain.status_code == 503
        assert plain.json()["checks"]["kafka"] == "failing"
    assert topic not in admin.list_topics(timeout=10).topics


async def test_health_readiness_metrics_and_docs(
    client: httpx.AsyncClient, events_topic: str
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True, "checks": {"kafka": "ok", "cassandra": "ok", "redis": "ok"}}  # fmt: skip
    await client.get("/v1/users/m-1/interactions")
    metrics = (await client.get("/metrics")).text
    assert 'interstore_api_user_reads_total{source="cold"} 1.0' in metrics
    assert 'interstore_api_request_seconds_count{method="GET",route="/readyz"} 1.0' in metrics
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/v1/interactions:batchGet" in schema["paths"]
    assert "APIKeyHeader" in schema["components"]["securitySchemes"]
