"""The hot path of the read API: ``GET /v1/users/{id}/interactions`` answered in pure ASGI.

FastAPI's per-request machinery (routing over every route, dependency solving for the API key,
path parameter validation, the endpoint's call) cost about as much CPU as the read itself. This
middleware, innermost (inside the concurrency limit, the request metrics and the body limit),
answers a well-formed request of that route itself with the same steps as the route
(``api.routes.interactions``): the key's scope (``KeyRing.check``), the user id's bounds, the
query (``api.params``), ``UserReads.recent_json`` (``api.user_reads``), the per-source counters and
the same JSON. Anything else (another route, a missing or refused key, a bad parameter, an
unexpected error) goes to the FastAPI app untouched, which answers it as it always did: error
shapes and the OpenAPI schema stay FastAPI's. It sets ``scope["route"]`` to the FastAPI route,
so the request metrics carry the same route template.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import KeyRing
from api.errors import ApiError, backend_status, error_response
from api.models import MAX_ID_BYTES
from api.params import check_user_id, parse_kinds, parse_limit, parse_since
from api.read_counts import count_reads
from api.responses import OrjsonResponse
from api.user_reads import UserReads
from store.read_path import ReadFailed

PREFIX, SUFFIX = "/v1/users/", "/interactions"
ROUTE_PATH = "/v1/users/{user_id:anyid}/interactions"
SCOPE = "read:interactions"
KEY_HEADER = b"x-api-key"


class FastUserReads:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        """``routes``: those of the router that declares the route (its FastAPI ``APIRoute``)."""
        self.app = app
        self.route = next(r for r in routes if getattr(r, "path", None) == ROUTE_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            await self.app(scope, receive, send)
            return
        try:
            response = await self._answer(scope, path[len(PREFIX) : -len(SUFFIX)])
        except Exception:  # noqa: BLE001 - the FastAPI route answers it, in its own way
            response = None
        if response is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, user_id: str) -> Response | None:
        if not 1 <= len(user_id) <= MAX_ID_BYTES:
            return None
        state: Any = scope["app"].state
        keyring: KeyRing = state.keyring
        try:
            keyring.check(_header(scope, KEY_HEADER), SCOPE)
            check_user_id(user_id)
            query = QueryParams(scope["query_string"])
            limit = parse_limit(query.get("limit"))
            wanted = parse_kinds(query.get("kinds"))
            since_ms = parse_since(query.get("since"))
        except ApiError:
            return None
        reads: UserReads = state.user_reads
        outcome = await reads.recent_json(user_id, kinds=wanted, limit=limit, since_ms=since_ms)
        count_reads(state.metrics, [outcome])
        if isinstance(outcome, ReadFailed):
            return error_response(backend_status(outcome.error), str(outcome.error))
        return OrjsonResponse(
            {
                "user_id": outcome.user_id,
                "source": outcome.source,
                "interactions": outcome.interactions,
            }
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
