"""The model routes' hot path: ``POST /v1/models/{id}/matrix`` and ``:rank`` in pure ASGI.

FastAPI's per-request machinery (routing over every route, the API key dependency, reading the
body through ``Request``, ``json.loads``, pydantic's validation of ``MatrixRequest``, the
endpoint's call) cost as much CPU as a 30-candidate matrix itself. This middleware, innermost
(inside the concurrency limit, the request metrics and the body limit; beside
``api.fast_reads``), answers a well-formed request itself with the same steps as the routes
(``api.routes.models``, both calling ``api.model_answers``): the key's scope, the model, the
body parsed with ``orjson`` and checked to be exactly what ``MatrixRequest`` accepts without
coercion (a JSON object of ``context`` strings, 1 to 1,000 string ``candidates``, an integer
``deadline_ms`` in bounds), the matrix, the metrics, the same JSON. A store failure is answered
as the API's handler answers it (503, logged). Anything else (another route, a refused key, an
unknown model, a body it does not take, an unexpected error) goes to the FastAPI app with the
body replayed, which answers it as it always did: error shapes and the OpenAPI schema stay
FastAPI's. A check that fails once the body is known good (an id too long, a context key
missing, a scorer error) is answered as FastAPI's ``ApiError`` handler answers it. It sets
``scope["route"]`` to the FastAPI route, so the request metrics carry the same route
template. Off with ``INTERSTORE_MODELS_FAST_ROUTES=false``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response, store_error_response
from api.model_answers import build_matrix, check_scorer, matrix_answer, rank_answer
from api.model_service import ModelService
from api.model_shapes import MAX_CANDIDATES, MAX_DEADLINE_MS
from api.responses import OrjsonResponse
from models.errors import UnknownModel
from store.errors import StoreError

PREFIX = "/v1/models/"
ROUTES = {"matrix": "/v1/models/{model_id}/matrix", "rank": "/v1/models/{model_id}:rank"}
SCOPE = "read:features"
KEY_HEADER = b"x-api-key"
FIELDS = frozenset(("context", "candidates", "deadline_ms"))
STR = frozenset((str,))


class FastModelRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        """``routes``: those of the router that declares the model routes."""
        self.app = app
        self.routes = {
            kind: next(r for r in routes if getattr(r, "path", None) == path)
            for kind, path in ROUTES.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = _target(scope) if scope["type"] == "http" else None
        if target is None:
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)  # BodyTooLarge passes: BodyLimit answers
        try:
            response = None if body is None else await self._answer(scope, *target, body)
        except StoreError as error:
            response = store_error_response(scope["method"], scope["path"], error)
        except Exception:  # noqa: BLE001 - the FastAPI route answers it, in its own way
            response = None
        if response is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        scope["route"] = self.routes[target[1]]
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, model_id: str, kind: str, body: bytes) -> Response | None:
        started = time.perf_counter()
        state: Any = scope["app"].state
        service: ModelService = state.models
        try:
            state.keyring.check(_header(scope, KEY_HEADER), SCOPE)
            model = service.registry.get(model_id)
            if kind == "rank":
                check_scorer(model)
        except (ApiError, UnknownModel):
            return None
        request = _request(body)
        if request is None:
            return None
        context, candidates, deadline_ms = request
        metrics = state.metrics.models
        try:
            found = await build_matrix(service, metrics, model, context, candidates, deadline_ms)
            if kind == "matrix":
                return OrjsonResponse(matrix_answer(metrics, model, found, started))
            return OrjsonResponse(rank_answer(metrics, model, found, candidates, started))
        except ApiError as error:  # past FastAPI's own checks: its handler's answer
            return error_response(error.status, error.message, error.details)


def _target(scope: Scope) -> tuple[str, str] | None:
    """(model id, "matrix" | "rank") of a JSON POST to a model route, else None."""
    path: str = scope["path"]
    if scope["method"] != "POST" or not path.startswith(PREFIX) or scope.get("root_path"):
        return None
    rest = path[len(PREFIX) :]
    if rest.endswith("/matrix"):
        model_id, kind = rest[: -len("/matrix")], "matrix"
    elif rest.endswith(":rank"):
        model_id, kind = rest[: -len(":rank")], "rank"
    else:
        return None
    if not model_id or "/" in model_id:
        return None
    content_type = _header(scope, b"content-type")
    if content_type is None or content_type.split(";")[0].strip().lower() != "application/json":
        return None
    return model_id, kind


def _request(body: bytes) -> tuple[dict[str, str], list[str], int | None] | None:
    """What ``MatrixRequest`` would hold, when the body is exactly what it accepts as is (no
    coercion, no error); else None (FastAPI answers)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or not FIELDS.issuperset(data):
        return None
    context = data.get("context", {})
    candidates = data.get("candidates")
    deadline_ms = data.get("deadline_ms")
    if type(context) is not dict or not all(type(v) is str for v in context.values()):
        return None
    if type(candidates) is not list or not 1 <= len(candidates) <= MAX_CANDIDATES:
        return None
    if not {*map(type, candidates)} <= STR:  # in C
        return None
    if deadline_ms is not None and (
        type(deadline_ms) is not int or not 1 <= deadline_ms <= MAX_DEADLINE_MS
    ):
        return None
    return context, candidates, deadline_ms


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages received and the whole body (None if the client left before its end)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives ``messages`` again, then the client's next ones."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
