"""/docs renders in a real headless browser with no internet: Chromium (Debian's ``chromium``)
loads the page from the API in-process on in-memory stores and finds the route list. Before,
Swagger UI's JavaScript came from a CDN and the page stayed blank. Skipped without Chromium."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from api.app import create_app
from core.settings import RetentionSettings, SessionSettings, Settings
from deploy.tcp_proxy import free_port
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_hot import InMemoryHotStore
from tests.unit.api.conftest import NOW_MS, MemoryBackends, api_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")


@pytest.fixture
def api_url() -> Iterator[str]:
    clock = lambda: NOW_MS  # noqa: E731
    backends = MemoryBackends(
        InMemoryHotStore(SessionSettings(), RetentionSettings(), clock=clock),
        InMemoryColdStore(RetentionSettings(), clock=clock),
    )

    async def open_backends(_: Settings) -> MemoryBackends:
        return backends

    port = free_port()
    config = uvicorn.Config(
        create_app(api_settings(), open_backends), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_docs_render_the_route_list_in_headless_chromium(api_url: str) -> None:
    assert CHROMIUM is not None
    dom = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--virtual-time-budget=15000", "--dump-dom", f"{api_url}/docs",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    ).stdout  # fmt: skip
    assert "opblock" in dom, dom[-2000:]  # Swagger UI's rendered operations
    assert "/v1/interactions:batchGet" in dom
    assert "/v1/users/{user_id}/interactions" in dom
