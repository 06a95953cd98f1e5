"""interstore.client against a mock transport: retries of 503, typed results, NumPy matrices,
errors; and the demo's choice of candidates."""

from __future__ import annotations

import httpx
import numpy as np
import orjson
import pytest

from interstore.client import ApiCallFailed, AsyncClient, Client
from interstore.demo_rank import candidates_for

MATRIX = {
    "model": "m", "version": "v1", "columns": ["a.g.x", "a.g.seq", "b.g.y"], "numeric": [0, 2],
    "rows": [[1, ["p1"], 2.5], [None, [], 0]], "row_status": ["ok", "missing"],
    "partial": False, "timings_ms": {"total": 1.0},
}  # fmt: skip


def transport(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handle)


def test_503s_are_retried_then_the_answer_is_typed() -> None:
    seen: list[httpx.Request] = []
    unavailable = httpx.Response(
        503, json={"error": {"status": 503, "code": "unavailable", "message": "x"}}
    )
    answers = [unavailable, unavailable, httpx.Response(200, json=MATRIX)]
    with Client("http://api", "k" * 16, backoff_s=0.001, transport=transport(answers, seen)) as api:
        found = api.matrix("m", {"user_id": "u"}, ["p1", "p2"])
    assert len(seen) == 3
    assert seen[0].headers["X-API-Key"] == "k" * 16
    assert orjson.loads(seen[0].content) == {
        "context": {"user_id": "u"},
        "candidates": ["p1", "p2"],
    }
    assert found.numeric == [0, 2]
    assert found.numeric_matrix.tolist()[0] == [1.0, 2.5]
    assert np.isnan(found.numeric_matrix[1, 0])


def test_errors_raise_with_the_api_message_and_retries_run_out() -> None:
    seen: list[httpx.Request] = []
    missing = httpx.Response(
        404, json={"error": {"status": 404, "code": "not_found", "message": "no model"}}
    )
    with (
        Client("http://api", transport=transport([missing], seen)) as api,
        pytest.raises(ApiCallFailed, match="404 not_found: no model"),
    ):
        api.rank("nope", {}, ["p"])
    down = [
        httpx.Response(
            503, json={"error": {"status": 503, "code": "unavailable", "message": "down"}}
        )
    ] * 3
    with (
        Client("http://api", retries=2, backoff_s=0.001, transport=transport(down, seen)) as api,
        pytest.raises(ApiCallFailed, match="503"),
    ):
        api.models()


async def test_the_async_client_gives_the_numeric_columns_as_numpy() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=MATRIX)

    async with AsyncClient("http://api", transport=httpx.MockTransport(handle)) as api:
        found = await api.matrix("m", {"user_id": "u"}, ["p1", "p2"])
    assert seen[0].headers["Accept"] == "application/json"
    assert found.rows[0] == [1, ["p1"], 2.5]
    expected = np.array([[1.0, 2.5], [np.nan, 0.0]])
    assert np.array_equal(found.numeric_matrix, expected, equal_nan=True)


def test_the_demo_ranks_the_users_clicks_then_popular_products() -> None:
    answer = {"results": [
        {"user_id": "u1", "interactions": [{"kind": "click", "product_id": "p9"},
                                           {"kind": "order", "product_id": "p1"}]},
        {"user_id": "u2", "interactions": [{"kind": "click", "product_id": "p1"}]},
    ]}  # fmt: skip
    assert candidates_for("u1", answer) == ["p9", "p1"]
