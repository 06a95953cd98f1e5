"""``POST /v1/users/{id}:forget`` in process: the admin scope, and a clear 503 where the
process has no forgetter (the in-memory backends)."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from api.app import create_app
from core.settings import ApiSettings, Settings
from tests.unit.api.conftest import READ_KEY, MemoryBackends

ADMIN_KEY = "admin-key-0123456789"


async def test_forget_needs_the_admin_scope_and_a_forgetter(backends: MemoryBackends) -> None:
    keys = {SecretStr(READ_KEY): ("read:interactions",), SecretStr(ADMIN_KEY): ("admin",)}
    settings = Settings(api=ApiSettings(keys=keys, max_loop_lag_ms=60_000))  # type: ignore[arg-type]

    async def open_backends(_: Settings) -> MemoryBackends:
        return backends

    app = create_app(settings, open_backends)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            reader = await http.post("/v1/users/u1:forget", headers={"X-API-Key": READ_KEY})
            assert reader.status_code == 403
            assert reader.json()["error"]["code"] == "forbidden"
            admin = {"X-API-Key": ADMIN_KEY}
            answer = await http.post("/v1/users/u1:forget", json={"reason": "r"}, headers=admin)
            assert answer.status_code == 503
            assert "not available" in answer.json()["error"]["message"]
            long = await http.post(f"/v1/users/{'x' * 300}:forget", headers=admin)
            assert long.status_code == 422
