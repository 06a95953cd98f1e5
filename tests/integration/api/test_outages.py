"""A Redis or Cassandra outage mid-service: 503 with the reason (never an empty 200), readiness
says which dependency, and service comes back by itself. The outage is real: the API reaches the
real servers through a TCP proxy that drops every connection and refuses new ones (the shared
servers other tests use stay up)."""

from __future__ import annotations

import asyncio

import httpx

from core.clock import wall_clock_ms
from core.settings import Settings
from deploy.tcp_proxy import TcpProxy
from tests.integration.api.conftest import Serve, Tiers
from tests.store_contract import click

RECOVERY_S = 30.0


async def eventually_ok(client: httpx.AsyncClient, path: str) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + RECOVERY_S
    while True:
        answer = await client.get(path)
        if answer.status_code == 200 or asyncio.get_running_loop().time() > deadline:
            return answer
        await asyncio.sleep(0.25)


async def seed(tiers: Tiers) -> None:
    now = wall_clock_ms()
    await tiers.in_cold([click("cold-e1", now - 1000, "cold-user")])
    await tiers.live("live-user", [click("live-e1", now - 500, "live-user")], [])


async def test_redis_outage_is_503_then_recovers(
    serve: Serve, tiers: Tiers, api_settings: Settings, events_topic: str
) -> None:
    await seed(tiers)
    with TcpProxy(int(api_settings.redis.url.rsplit(":", 1)[1].split("/")[0])) as proxy:
        redis = api_settings.redis.model_copy(
            update={"url": f"redis://127.0.0.1:{proxy.port}/0", "retries": 0}
        )
        async with serve(redis=redis) as client:
            assert (await client.get("/v1/users/live-user/interactions")).json()["source"] == "hot"
            proxy.cut()
            for user in ("live-user", "cold-user"):  # which users are live is unknown: all 503
                answer = await client.get(f"/v1/users/{user}/interactions")
                assert answer.status_code == 503
                assert answer.json()["error"]["code"] == "unavailable"
                assert "recent read" in answer.json()["error"]["message"]
            batch = await client.post(
                "/v1/interactions:batchGet", json={"user_ids": ["live-user", "cold-user"]}
            )
            assert batch.status_code == 503
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["redis"] != "ok"
            assert ready.json()["checks"]["cassandra"] == "ok"

            proxy.restore()
            answer = await eventually_ok(client, "/v1/users/live-user/interactions")
            assert answer.status_code == 200
            assert answer.json()["source"] == "hot"
            assert (await eventually_ok(client, "/readyz")).status_code == 200


async def test_cassandra_outage_fails_cold_reads_only_then_recovers(
    serve: Serve, tiers: Tiers, api_settings: Settings
) -> None:
    await seed(tiers)
    with TcpProxy(api_settings.cassandra.port) as proxy:
        cassandra = api_settings.cassandra.model_copy(
            update={"port": proxy.port, "reconnect_max_s": 0.5, "request_timeout_s": 2.0}
        )
        async with serve(cassandra=cassandra) as client:
            assert (await client.get("/v1/users/cold-user/interactions")).status_code == 200
            proxy.cut()
            cold = await client.get("/v1/users/cold-user/interactions")
            assert cold.status_code == 503
            assert "cold-user" in cold.json()["error"]["message"]
            live = await client.get("/v1/users/live-user/interactions")
            assert live.status_code == 200  # a live user never needed Cassandra
            batch = await client.post(
                "/v1/interactions:batchGet", json={"user_ids": ["live-user", "cold-user"]}
            )
            assert batch.status_code == 200
            hot_entry, cold_entry = batch.json()["results"]
            assert hot_entry["source"] == "hot"
            assert cold_entry["error"]["status"] == 503
            ready = await client.get("/readyz")
            assert ready.json()["checks"]["cassandra"] != "ok"

            proxy.restore()
            answer = await eventually_ok(client, "/v1/users/cold-user/interactions")
            assert answer.status_code == 200
            assert [i["event_id"] for i in answer.json()["interactions"]] == ["cold-e1"]
