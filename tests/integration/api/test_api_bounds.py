"""Every bound and the API keys, on the real app (the same answers the unit tests pin down on
in-memory stores, here through the real lifespan and clients)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.api.conftest import FEATURES_KEY, READ_KEY, Serve

BATCH = "/v1/interactions:batchGet"


@pytest.fixture
async def client(serve: Serve) -> httpx.AsyncClient:  # type: ignore[misc]
    async with serve() as http:
        yield http


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/v1/users/u/interactions?limit=0", "limit"),
        ("/v1/users/u/interactions?limit=1001", "limit"),
        ("/v1/users/u/interactions?kinds=view", "unknown kind 'view'"),
        ("/v1/users/u/interactions?since=soon", "since"),
        (f"/v1/users/{'x' * 257}/interactions", "256"),
    ],
)
async def test_query_bounds_are_422(client: httpx.AsyncClient, path: str, words: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 422
    assert words in answer.json()["error"]["message"]


async def test_limits_at_the_bounds_are_served(client: httpx.AsyncClient) -> None:
    for limit in (1, 1000):
        assert (await client.get(f"/v1/users/u/interactions?limit={limit}")).status_code == 200
    assert (await client.get(f"/v1/users/{'x' * 256}/interactions")).status_code == 200
    assert (await client.post(BATCH, json={"user_ids": ["u"] * 500})).status_code == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"user_ids": ["u"] * 501}, "user_ids"),
        ({"user_ids": []}, "user_ids"),
        ({"user_ids": ["u"], "limit": 1001}, "limit"),
        ({"user_ids": ["u"], "kinds": ["view"]}, "kinds"),
    ],
)
async def test_batch_bounds_are_422(
    client: httpx.AsyncClient, body: dict[str, object], words: str
) -> None:
    answer = await client.post(BATCH, json=body)
    assert answer.status_code == 422
    assert words in answer.json()["error"]["message"]


async def test_bodies_over_1_mib_are_413(client: httpx.AsyncClient) -> None:
    ids = ", ".join(f'"{"u" * 250}{n}"' for n in range(4200))
    answer = await client.post(
        BATCH, content=f'{{"user_ids": [{ids}]}}', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), ("wrong-key-wrong-key", 401), (FEATURES_KEY, 403)]
)
async def test_keys_and_scopes(client: httpx.AsyncClient, key: str | None, status: int) -> None:
    headers = {"X-API-Key": key} if key else {}
    client.headers.pop("X-API-Key")
    assert (await client.get("/v1/users/u/interactions", headers=headers)).status_code == status
    batch = await client.post(BATCH, json={"user_ids": ["u"]}, headers=headers)
    assert batch.status_code == status
    good = await client.get("/v1/users/u/interactions", headers={"X-API-Key": READ_KEY})
    assert good.status_code == 200
