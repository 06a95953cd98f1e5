"""A property test over every parameter of the read routes: whatever the input, the answer is
never a 5xx, and every error is in the API's JSON shape. Found before: ``limit=²`` (passes
``isdigit`` but not ``int``), ``limit``/``since`` of 4,300+ digits (Python's digit limit), a
lone surrogate in a batch's user id (orjson refused the whole response)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from core.settings import RetentionSettings, SessionSettings, Settings
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_hot import InMemoryHotStore
from tests.unit.api.conftest import NOW_MS, READ_KEY, MemoryBackends, api_settings

HEADERS = {"X-API-Key": READ_KEY}
CHECKS = settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)  # lone: not UTF-8
any_text = st.text(st.one_of(st.characters(), surrogates), max_size=40)
digits = st.integers(min_value=0, max_value=6000).map(lambda n: "9" * n)


class RawNumber(str):
    """A JSON number written as is (hypothesis itself cannot print 4,300+ digit integers)."""


numbers = st.one_of(
    st.integers(), st.floats(allow_nan=False), digits.filter(bool).map(RawNumber),
    digits.filter(bool).map(lambda d: RawNumber("-" + d)),
)  # fmt: skip
query_values = st.one_of(st.none(), any_text, digits, st.sampled_from(["²", "١٢", "0", "-1", " 5"]))


class Http:
    """The app in-process on its own event loop, called from synchronous hypothesis tests."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
        self.loop = loop
        self.client = client

    def get(self, url: str) -> httpx.Response:
        return self.loop.run_until_complete(self.client.get(url))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.post(url, **kwargs))


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    clock = lambda: NOW_MS  # noqa: E731
    backends = MemoryBackends(
        InMemoryHotStore(SessionSettings(), RetentionSettings(), clock=clock),
        InMemoryColdStore(RetentionSettings(), clock=clock),
    )

    async def open_backends(_: Settings) -> MemoryBackends:
        return backends

    app = create_app(api_settings(), open_backends)
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://api", headers=HEADERS)
    try:
        yield Http(loop, client)
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()


def as_json(value: Any) -> str:
    """ensure_ascii writes lone surrogates as \\udXXX escapes, which the API must handle."""
    if isinstance(value, RawNumber):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=True)


def assert_json_answer(response: Any) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["status"] == response.status_code
        assert isinstance(error["message"], str)


@CHECKS
@given(user=any_text, limit=query_values, kinds=query_values, since=query_values)
def test_one_user_read_never_answers_5xx(
    http: Http, user: str, limit: str | None, kinds: str | None, since: str | None
) -> None:
    params = {k: v for k, v in {"limit": limit, "kinds": kinds, "since": since}.items() if v}
    query = "&".join(f"{k}={quote(v, errors='surrogatepass')}" for k, v in params.items())
    path = quote(user, safe="", errors="surrogatepass") or "%20"
    assert_json_answer(http.get(f"/v1/users/{path}/interactions?{query}"))


json_values = st.one_of(st.none(), any_text, digits, numbers, st.booleans(), st.lists(any_text))


@CHECKS
@given(
    user_ids=st.one_of(
        st.lists(st.one_of(any_text, surrogates), min_size=1, max_size=5), json_values
    ),
    kinds=st.one_of(st.none(), st.lists(st.sampled_from(["click", "order", "x"])), json_values),
    limit=st.one_of(st.none(), st.integers(1, 1000), json_values),
    since=st.one_of(st.none(), st.integers(0, 2**41), json_values),
)
def test_batch_read_never_answers_5xx(
    http: Http, user_ids: Any, kinds: Any, limit: Any, since: Any
) -> None:
    body = {"user_ids": user_ids, "kinds": kinds, "limit": limit, "since": since}
    raw = "{" + ", ".join(f'"{k}": {as_json(v)}' for k, v in body.items() if v is not None) + "}"
    response = http.post(
        "/v1/interactions:batchGet", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_json_answer(response)


def test_the_three_known_inputs(http: Http) -> None:
    assert http.get("/v1/users/u1/interactions?limit=²").status_code == 422
    assert http.get(f"/v1/users/u1/interactions?since={'9' * 5000}").status_code == 422
    assert http.get(f"/v1/users/u1/interactions?limit={'9' * 5000}").status_code == 422
    body = '{"user_ids": ["u1", "\\ud800"]}'
    response = http.post(
        "/v1/interactions:batchGet", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["source"] == "cold"
    assert results[1]["error"]["status"] == 400
    assert results[1]["user_id"] == "\\ud800"
