"""A small client for rankers: interactions, features, model matrices and rankings.

``Client`` (sync) and ``AsyncClient`` share everything but the transport: one httpx client
each (connection reuse), a timeout per request, and retries of 503s and connection errors with
exponential backoff (every call here is a read, so a retry is safe). Errors are raised as
``ApiCallFailed`` with the API's status, code and message. ``matrix(...)`` gives the numeric
columns as a NumPy array too (``numeric_matrix``).

```python
from interstore.client import Client

with Client("http://127.0.0.1:8000", api_key="...") as api:
    ranked = api.rank("home_ranker", {"user_id": "u1"}, ["p1", "p2", "p3"])
    print([(r.candidate, round(r.score, 3)) for r in ranked.ranking])
    m = api.matrix("home_ranker", {"user_id": "u1"}, ["p1", "p2"])
    print(m.columns, m.numeric_matrix.shape, m.row_status)
```
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import numpy.typing as npt
import orjson

from core.errors import InterstoreError

RETRIED_STATUS = frozenset({502, 503, 504})


class ApiCallFailed(InterstoreError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class MatrixResult:
    model: str
    version: str
    columns: list[str]
    rows: list[list[Any]]
    """Every column, one row per candidate (JSON values)."""
    row_status: list[str]
    partial: bool
    timings_ms: dict[str, float]
    numeric: list[int]
    """Positions of the numeric columns (those in ``numeric_matrix``)."""
    numeric_matrix: npt.NDArray[np.float64]
    """The numeric columns as float64, null as NaN."""


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: str
    score: float
    row_status: str


@dataclass(frozen=True, slots=True)
class RankResult:
    model: str
    version: str
    ranking: list[Ranked]
    dropped: int
    partial: bool
    timings_ms: dict[str, float]


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    body: Mapping[str, Any] | None = None
    params: Mapping[str, Any] | None = None


def _matrix_call(
    model: str, context: Mapping[str, str], candidates: Sequence[str], deadline_ms: int | None,
    action: str,
) -> _Call:  # fmt: skip
    body: dict[str, Any] = {"context": dict(context), "candidates": list(candidates)}
    if deadline_ms is not None:
        body["deadline_ms"] = deadline_ms
    return _Call("POST", f"/v1/models/{model}{action}", body)


def _check(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
        raise ApiCallFailed(response.status_code, error["code"], error["message"])
    except (ValueError, KeyError, TypeError):
        raise ApiCallFailed(response.status_code, "error", response.text[:500]) from None


def parse_matrix(response: httpx.Response) -> MatrixResult:
    data = orjson.loads(response.content)
    rows = data["rows"]
    numeric = data["numeric"]
    if len(numeric) == len(data["columns"]):
        array = np.array(rows, dtype=np.float64)  # NumPy reads None as NaN
    else:
        array = np.array([[row[j] for j in numeric] for row in rows], dtype=np.float64)
    return MatrixResult(
        data["model"], data["version"], data["columns"], rows, data["row_status"],
        data["partial"], data["timings_ms"], numeric, array.reshape(len(rows), len(numeric)),
    )  # fmt: skip


def parse_rank(response: httpx.Response) -> RankResult:
    data = response.json()
    ranking = [Ranked(r["candidate"], r["score"], r["row_status"]) for r in data["ranking"]]
    return RankResult(
        data["model"], data["version"], ranking, data["dropped"], data["partial"],
        data["timings_ms"],
    )  # fmt: skip


class _Base:
    def __init__(
        self, base_url: str, api_key: str | None, *, timeout_s: float, retries: int,
        backoff_s: float,
    ) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.headers = {"X-API-Key": api_key} if api_key else {}
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s

    def _delay(self, attempt: int) -> float:
        return float(self.backoff_s * (2**attempt) * (0.5 + random.random() / 2))

    def _retry(self, attempt: int, response: httpx.Response | None) -> bool:
        """Whether to try again: a 503 (or 502/504) or a connection error, attempts left."""
        transient = response is None or response.status_code in RETRIED_STATUS
        return attempt < self.retries and transient

    def _request(self, call: _Call) -> dict[str, Any]:
        return {
            "method": call.method,
            "url": call.path,
            "json": call.body,
            "params": call.params,
            "headers": {"Accept": "application/json"},
        }


class Client(_Base):
    """Synchronous; one connection pool for the client's life (``close()`` or ``with``)."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, timeout_s: float = 2.0,
        retries: int = 3, backoff_s: float = 0.05, transport: httpx.BaseTransport | None = None,
    ) -> None:  # fmt: skip
        super().__init__(
            base_url, api_key, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s
        )
        self.http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=timeout_s, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response: httpx.Response | None = self.http.request(**self._request(call))
            except httpx.TransportError:
                if not self._retry(attempt, None):
                    raise
                response = None
            if response is not None and not self._retry(attempt, response):
                _check(response)
                return response
            time.sleep(self._delay(attempt))
            attempt += 1

    def interactions(self, user_id: str, **query: Any) -> dict[str, Any]:
        params = {k: ",".join(v) if isinstance(v, list) else v for k, v in query.items()}
        path = "/v1/users/" + quote(user_id, safe="") + "/interactions"
        response = self._send(_Call("GET", path, params=params))
        data: dict[str, Any] = response.json()
        return data

    def batch_interactions(self, user_ids: Sequence[str], **options: Any) -> dict[str, Any]:
        body = {"user_ids": list(user_ids), **options}
        data: dict[str, Any] = self._send(_Call("POST", "/v1/interactions:batchGet", body)).json()
        return data

    def features(self, entity: str, ids: Sequence[Any], features: Sequence[str]) -> dict[str, Any]:
        body = {"entity": entity, "ids": list(ids), "features": list(features)}
        data: dict[str, Any] = self._send(_Call("POST", "/v1/features:get", body)).json()
        return data

    def matrix(
        self, model: str, context: Mapping[str, str], candidates: Sequence[str], *,
        deadline_ms: int | None = None,
    ) -> MatrixResult:  # fmt: skip
        call = _matrix_call(model, context, candidates, deadline_ms, "/matrix")
        return parse_matrix(self._send(call))

    def rank(
        self, model: str, context: Mapping[str, str], candidates: Sequence[str], *,
        deadline_ms: int | None = None,
    ) -> RankResult:  # fmt: skip
        call = _matrix_call(model, context, candidates, deadline_ms, ":rank")
        return parse_rank(self._send(call))

    def models(self) -> dict[str, Any]:
        data: dict[str, Any] = self._send(_Call("GET", "/v1/models")).json()
        return data


class AsyncClient(_Base):
    """The same calls, awaited; one connection pool (``await close()`` or ``async with``)."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, timeout_s: float = 2.0,
        retries: int = 3, backoff_s: float = 0.05,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        super().__init__(
            base_url, api_key, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s
        )
        self.http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=timeout_s, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.aclose()

    async def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response: httpx.Response | None = await self.http.request(**self._request(call))
            except httpx.TransportError:
                if not self._retry(attempt, None):
                    raise
                response = None
            if response is not None and not self._retry(attempt, response):
                _check(response)
                return response
            await asyncio.sleep(self._delay(attempt))
            attempt += 1

    async def interactions(self, user_id: str, **query: Any) -> dict[str, Any]:
        params = {k: ",".join(v) if isinstance(v, list) else v for k, v in query.items()}
        path = "/v1/users/" + quote(user_id, safe="") + "/interactions"
        response = await self._send(_Call("GET", path, params=params))
        data: dict[str, Any] = response.json()
        return data

    async def batch_interactions(self, user_ids: Sequence[str], **options: Any) -> dict[str, Any]:
        body = {"user_ids": list(user_ids), **options}
        response = await self._send(_Call("POST", "/v1/interactions:batchGet", body))
        data: dict[str, Any] = response.json()
        return data

    async def features(
        self, entity: str, ids: Sequence[Any], features: Sequence[str]
    ) -> dict[str, Any]:
        body = {"entity": entity, "ids": list(ids), "features": list(features)}
        data: dict[str, Any] = (await self._send(_Call("POST", "/v1/features:get", body))).json()
        return data

    async def matrix(
        self, model: str, context: Mapping[str, str], candidates: Sequence[str], *,
        deadline_ms: int | None = None,
    ) -> MatrixResult:  # fmt: skip
        call = _matrix_call(model, context, candidates, deadline_ms, "/matrix")
        return parse_matrix(await self._send(call))

    async def rank(
        self, model: str, context: Mapping[str, str], candidates: Sequence[str], *,
        deadline_ms: int | None = None,
    ) -> RankResult:  # fmt: skip
        call = _matrix_call(model, context, candidates, deadline_ms, ":rank")
        return parse_rank(await self._send(call))

    async def models(self) -> dict[str, Any]:
        data: dict[str, Any] = (await self._send(_Call("GET", "/v1/models"))).json()
        return data
