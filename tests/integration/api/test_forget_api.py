"""``POST /v1/users/{id}:forget`` (scope ``admin``) on the real stack: the user's hot and cold
data go, the API then answers as for an unknown user, and only an admin key may ask."""

from __future__ import annotations

import time

from pydantic import SecretStr

from core.settings import ApiSettings, OpsSettings, Settings
from store.interactions import Interaction
from tests.integration.api.conftest import READ_KEY, Serve, Tiers

ADMIN_KEY = "integration-admin-key-0123"


def click(user: str, n: int, ts_ms: int) -> Interaction:
    return Interaction("click", f"{user}-e{n}", user, "p1", "c1", ts_ms, surface="home", position=n)


async def test_forget_erases_both_tiers_and_needs_the_admin_scope(
    serve: Serve, tiers: Tiers, api_settings: Settings
) -> None:
    now = int(time.time() * 1000)
    await tiers.in_cold([click("cold-user", n, now - 1000 * n) for n in range(5)])
    await tiers.live("live-user", [click("live-user", 9, now - 5000)], [click("live-user", 1, now)])
    keys = {SecretStr(READ_KEY): ("read:interactions",), SecretStr(ADMIN_KEY): ("admin",)}
    api = ApiSettings(keys=keys, max_loop_lag_ms=60_000)  # type: ignore[arg-type]
    async with serve(api=api, ops=OpsSettings(tombstone_refresh_s=0.1)) as client:
        refused = await client.post("/v1/users/cold-user:forget", json={"reason": "x"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        admin = {"X-API-Key": ADMIN_KEY}
        for user, live in (("cold-user", False), ("live-user", True)):
            answer = await client.post(
                f"/v1/users/{user}:forget", json={"reason": "gdpr"}, headers=admin
            )
            assert answer.status_code == 200, answer.text
            report = answer.json()
            assert report["was_live"] is live
            assert report["reason"] == "gdpr"
            read = await client.get(f"/v1/users/{user}/interactions")
            assert read.status_code == 200
            assert read.json() == {"user_id": user, "source": "cold", "interactions": []}
        bad = await client.post("/v1/users/:forget", headers=admin)
        assert bad.status_code in (404, 422)
