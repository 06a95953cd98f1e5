"""The one-user read's pure-ASGI hot path (``api.fast_reads``) answers as the FastAPI route
does: the same JSON as the batch route's entry for that user, the same metrics label; requests
it does not take (refused keys, bad parameters, other methods) get the FastAPI route's answers."""

from __future__ import annotations

import httpx

from tests.unit.api.conftest import FEATURES_KEY, MemoryBackends
from tests.unit.api.test_routes import seed


async def test_the_answer_is_the_batch_routes_entry_for_that_user(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await seed(backends)
    for user in ("live-user", "cold-user", "nobody", "a/b c\u00e9"):
        for query, extra in (
            ({"limit": 2}, {"limit": 2}),
            ({"kinds": "click"}, {"kinds": ["click"]}),
            ({}, {}),
        ):
            one = await client.get(f"/v1/users/{user}/interactions", params=query)
            body = {"user_ids": [user], **extra}
            many = await client.post("/v1/interactions:batchGet", json=body)
            assert one.status_code == 200
            assert one.headers["content-type"] == "application/json"
            assert one.json() == many.json()["results"][0]


async def test_what_the_fast_path_does_not_take_gets_the_routes_own_answers(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await seed(backends)
    path = "/v1/users/live-user/interactions"
    assert (await client.get(path, headers={"X-API-Key": "unknown-key-0123456789"})).json()[
        "error"
    ]["status"] == 401
    assert (await client.get(path, headers={"X-API-Key": FEATURES_KEY})).status_code == 403
    assert (await client.get(path, params={"limit": 0})).status_code == 422
    assert (await client.get(path, params={"kinds": "nope"})).status_code == 422
    assert (await client.get("/v1/users//interactions")).status_code == 422
    assert (await client.post(path)).status_code == 405
