"""The model routes on in-memory stores: listing, bounds, errors, answers of an empty store."""

from __future__ import annotations

import httpx

from tests.unit.api.conftest import FEATURES_KEY, READ_KEY

H = {"X-API-Key": FEATURES_KEY}
MODEL = "home_ranker"


async def test_the_sample_model_is_listed_with_its_version_and_columns(
    client: httpx.AsyncClient,
) -> None:
    listed = (await client.get("/v1/models", headers=H)).json()
    assert [m["model"] for m in listed["models"]] == [MODEL]
    one = (await client.get(f"/v1/models/{MODEL}", headers=H)).json()
    assert len(one["columns"]) == 21
    levels = {"context": [["user"]], "candidate": [["product"], ["category", "user_category"]]}
    assert one["levels"] == levels


async def test_unknown_candidates_are_missing_rows_of_defaults(client: httpx.AsyncClient) -> None:
    body = {"context": {"user_id": "u1"}, "candidates": ["p1", "p2"]}
    answer = await client.post(f"/v1/models/{MODEL}/matrix", json=body, headers=H)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["row_status"] == ["missing", "missing"]
    assert found["partial"] is False
    assert found["rows"][0][0] == 0
    ranked = (await client.post(f"/v1/models/{MODEL}:rank", json=body, headers=H)).json()
    assert [r["candidate"] for r in ranked["ranking"]] == ["p1", "p2"]  # equal scores: stable


async def test_errors_have_the_api_shape(client: httpx.AsyncClient) -> None:
    matrix = f"/v1/models/{MODEL}/matrix"
    user = {"user_id": "u"}
    cases = [
        ("/v1/models/nope/matrix", {"context": user, "candidates": ["p"]}, 404, "no model 'nope'"),
        (matrix, {"context": {}, "candidates": ["p"]}, 422, "context: missing user_id"),
        (matrix, {"context": {**user, "x": "1"}, "candidates": ["p"]}, 422, "unknown key 'x'"),
        (matrix, {"context": user, "candidates": []}, 422, "candidates"),
        (matrix, {"context": user, "candidates": ["p"] * 1001}, 422, "candidates"),
        (matrix, {"context": user, "candidates": [""]}, 422, "candidates[0]"),
        (matrix, {"context": user, "candidates": ["p", "x" * 257]}, 422, "candidates[1]: must be"),
        (matrix, {"context": {"user_id": "u" * 300}, "candidates": ["p"]}, 422, "context.user_id"),
    ]
    for path, body, status, message in cases:
        answer = await client.post(path, json=body, headers=H)
        assert answer.status_code == status, (path, body, answer.text)
        assert message in answer.json()["error"]["message"]
    lone_surrogate = b'{"context": {"user_id": "u"}, "candidates": ["p", "\\ud800"]}'
    headers = {**H, "Content-Type": "application/json"}
    answer = await client.post(matrix, content=lone_surrogate, headers=headers)
    assert answer.status_code == 422
    assert "candidates[1]: not valid UTF-8" in answer.json()["error"]["message"]


async def test_the_read_features_scope_is_needed(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/models", headers={"X-API-Key": READ_KEY})
    assert answer.status_code == 403
