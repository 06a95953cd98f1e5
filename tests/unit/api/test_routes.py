"""The routes on in-memory stores: shapes, bounds, auth, per-user errors, 503s."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from store.interactions import Interaction
from tests.hot_store_contract import hydrate
from tests.unit.api.conftest import FEATURES_KEY, NOW_MS, MemoryBackends


def click(user: str, n: int, ts: int) -> Interaction:
    return Interaction("click", f"c{n}", user, f"p{n}", "cat", ts, surface="home", position=n)


def order(user: str, n: int, ts: int) -> Interaction:
    return Interaction(
        "order", f"o{n}", user, f"p{n}", "cat", ts, order_id=f"ord{n}", quantity=2,
        price=Decimal("19.90"), currency="INR",
    )  # fmt: skip


async def seed(backends: MemoryBackends) -> None:
    """cold-user: 3 interactions in cold; live-user: live with 2 hydrated + 1 appended."""
    await backends.cold.write_many(
        [click("cold-user", 1, NOW_MS - 3000), order("cold-user", 2, NOW_MS - 2000),
         click("cold-user", 3, NOW_MS - 1000)]
    )  # fmt: skip
    hydrated = [click("live-user", 1, NOW_MS - 5000), click("live-user", 2, NOW_MS - 4000)]
    await hydrate(backends.hot, "live-user", hydrated, partition=0, now_ms=NOW_MS)
    await backends.hot.append([(order("live-user", 3, NOW_MS - 100), 0, 7)], NOW_MS)


async def test_one_user_newest_first_from_the_tier_that_holds_it(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await seed(backends)
    cold = (await client.get("/v1/users/cold-user/interactions")).json()
    assert cold["source"] == "cold"
    assert [i["event_id"] for i in cold["interactions"]] == ["c3", "o2", "c1"]
    assert cold["interactions"][1] == {
        "kind": "order", "event_id": "o2", "product_id": "p2", "category_id": "cat",
        "ts": NOW_MS - 2000, "order_id": "ord2", "quantity": 2, "price": "19.90",
        "currency": "INR",
    }  # fmt: skip
    live = (await client.get("/v1/users/live-user/interactions?kinds=order&limit=5")).json()
    assert live == {"user_id": "live-user", "source": "hot", "interactions": [
        order("live-user", 3, NOW_MS - 100).to_json()]}  # fmt: skip
    since = await client.get(f"/v1/users/cold-user/interactions?since={NOW_MS - 2000}&limit=1")
    assert [i["event_id"] for i in since.json()["interactions"]] == ["c3"]


async def test_unknown_user_is_an_empty_cold_answer(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/users/nobody/interactions")
    assert answer.status_code == 200
    assert answer.json() == {"user_id": "nobody", "source": "cold", "interactions": []}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
        ("limit=ten", "query.limit"),
        ("kinds=click,view", "unknown kind 'view'"),
        ("since=tomorrow", "since:"),
    ],
)
async def test_bad_parameters_are_422_with_a_clear_message(
    client: httpx.AsyncClient, query: str, words: str
) -> None:
    answer = await client.get(f"/v1/users/u/interactions?{query}")
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert words in error["message"]


async def test_ids_over_256_bytes_are_422(client: httpx.AsyncClient) -> None:
    answer = await client.get(f"/v1/users/{'é' * 129}/interactions")
    assert answer.status_code == 422
    assert "256" in answer.json()["error"]["message"]


async def test_ids_may_hold_slashes(client: httpx.AsyncClient, backends: MemoryBackends) -> None:
    await backends.cold.write_many([click("team/a", 1, NOW_MS - 10)])
    answer = await client.get("/v1/users/team/a/interactions")
    assert answer.json()["user_id"] == "team/a"
    assert len(answer.json()["interactions"]) == 1


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("not-a-key", 401), (FEATURES_KEY, 403)])
async def test_auth(client: httpx.AsyncClient, key: str | None, status: int) -> None:
    headers = {"X-API-Key": key} if key else {}
    client.headers.pop("X-API-Key")
    answer = await client.get("/v1/users/u/interactions", headers=headers)
    assert answer.status_code == status
    body = {"user_ids": ["u"]}
    batch = await client.post("/v1/interactions:batchGet", json=body, headers=headers)
    assert batch.status_code == status
    assert (await client.get("/healthz")).status_code == 200  # probes need no key


async def test_batch_answers_each_user_in_request_order(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await seed(backends)
    users = ["live-user", "", "cold-user", "nobody", "live-user", "x" * 300]
    answer = await client.post(
        "/v1/interactions:batchGet", json={"user_ids": users, "kinds": ["click"], "limit": 1}
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["user_id"] for r in results] == users
    assert [r.get("source") for r in results] == ["hot", None, "cold", "cold", "hot", None]
    assert results[0]["interactions"][0]["event_id"] == "c2"
    assert results[2]["interactions"][0]["event_id"] == "c3"
    assert results[1]["error"]["status"] == 400
    assert "got 300" in results[5]["error"]["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"user_ids": []}, "user_ids"),
        ({"user_ids": ["u"] * 501}, "user_ids"),
        ({"user_ids": ["u"], "limit": 0}, "limit"),
        ({"user_ids": ["u"], "kinds": ["view"]}, "kinds"),
        ({"user_ids": ["u"], "surprise": 1}, "surprise"),
        ({"user_ids": "u"}, "user_ids"),
    ],
)
async def test_bad_batch_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, object], words: str
) -> None:
    answer = await client.post("/v1/interactions:batchGet", json=body)
    assert answer.status_code == 422
    assert words in answer.json()["error"]["message"]


async def test_bodies_over_the_limit_are_413(client: httpx.AsyncClient) -> None:
    body = b'{"user_ids": ["' + b"u" * (1 << 20) + b'"]}'
    answer = await client.post(
        "/v1/interactions:batchGet", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b" " * 65536

    streamed = await client.post(
        "/v1/interactions:batchGet", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_a_hot_tier_outage_is_503_never_an_empty_200(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await seed(backends)
    backends.hot.available = False
    one = await client.get("/v1/users/cold-user/interactions")
    assert one.status_code == 503
    assert "unavailable" in one.json()["error"]["message"]
    assert one.headers["Retry-After"] == "1"
    batch = await client.post("/v1/interactions:batchGet", json={"user_ids": ["a", "b"]})
    assert batch.status_code == 503
    backends.hot.available = True
    assert (await client.get("/v1/users/cold-user/interactions")).status_code == 200


async def test_a_cold_failure_fails_only_its_users(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await seed(backends)
    backends.cold.available = False
    batch = await client.post(
        "/v1/interactions:batchGet", json={"user_ids": ["live-user", "cold-user"]}
    )
    assert batch.status_code == 200
    live, cold = batch.json()["results"]
    assert live["source"] == "hot"
    assert cold["error"]["status"] == 503
    only_cold = await client.post("/v1/interactions:batchGet", json={"user_ids": ["cold-user"]})
    assert only_cold.status_code == 503


async def test_readiness_and_metrics(client: httpx.AsyncClient, backends: MemoryBackends) -> None:
    assert (await client.get("/readyz")).json() == {
        "ready": True, "checks": {"redis": "ok", "cassandra": "ok"}}  # fmt: skip
    backends.checks["redis"] = "ConnectionError: refused"
    not_ready = await client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["ready"] is False
    await client.get("/v1/users/u/interactions")
    text = (await client.get("/metrics")).text
    assert 'interstore_api_user_reads_total{source="cold"} 1.0' in text
    route = 'route="/v1/users/{user_id:anyid}/interactions"'
    assert f'interstore_api_requests_total{{method="GET",{route},status="200"}} 1.0' in text
    assert "interstore_api_request_seconds_bucket" in text


async def test_a_body_that_is_not_json_says_so(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/interactions:batchGet", content=b"user_ids=u1")
    assert answer.status_code == 422
    assert "Content-Type: application/json" in answer.json()["error"]["message"]
