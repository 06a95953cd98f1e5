"""Recent interactions for rankers: one user, or many in one request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.responses import Response

from api.auth import require_scope
from api.errors import backend_status, error_body, error_response
from api.metrics import ApiMetrics
from api.models import (
    DEFAULT_LIMIT,
    MAX_ID_BYTES,
    MAX_LIMIT,
    SINCE_DOC,
    BatchGetRequest,
    BatchGetResponse,
    ErrorResponse,
    UserInteractions,
)
from api.params import (
    check_batch_size,
    check_kinds,
    check_user_id,
    id_problem,
    parse_kinds,
    parse_limit,
    parse_since,
    printable_id,
)
from api.read_counts import count_reads
from api.responses import OrjsonResponse
from api.user_reads import UserReads
from store.interactions import INTERACTION_KINDS
from store.read_path import (
    InteractionReader,
    JsonRow,
    ReadFailed,
    ReadOutcome,
    RecentInteractions,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "No API key, or an unknown one.",
        403: "The API key lacks the scope read:interactions.",
        413: "Request body over the limit (1 MiB by default).",
        422: "A parameter out of bounds or malformed; the message says which.",
        503: "A backend (Redis or Cassandra) failed or timed out for this request: retry.",
    }.items()
}


class AnyIdConvertor(PathConvertor):
    """A user id in a path: any characters, slashes and newlines included (Starlette's own
    ``path`` convertor stops at a newline: such an id would be a 404)."""

    regex = "(?s:.*)"


register_url_convertor("anyid", AnyIdConvertor())

QUERY_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "kinds",
        "in": "query",
        "required": False,
        "description": "Comma-separated: click, order, wishlist. Default: all.",
        "schema": {"type": "string"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    {
        "name": "since",
        "in": "query",
        "required": False,
        "description": SINCE_DOC,
        "schema": {"type": "string"},
    },
]
"""The one-user read's query parameters, parsed by the handler itself (``api.params``): FastAPI's
per-request parameter solving was about a fifth of the route's CPU."""

router = APIRouter(
    prefix="/v1",
    tags=["interactions"],
    dependencies=[Depends(require_scope("read:interactions"))],
)


def _reader(request: Request) -> InteractionReader:
    reader: InteractionReader = request.app.state.backends.reader
    return reader


def _metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


def _answer_json(answer: RecentInteractions[JsonRow]) -> dict[str, Any]:
    return {"user_id": answer.user_id, "source": answer.source, "interactions": answer.interactions}


@router.get(
    "/users/{user_id:anyid}/interactions",
    response_model=None,
    responses={200: {"model": UserInteractions}, **ERRORS},
    summary="A user's recent interactions, newest first",
    openapi_extra={"parameters": QUERY_PARAMETERS},
)
async def user_interactions(
    request: Request,
    user_id: Annotated[
        str,
        Path(
            min_length=1, max_length=MAX_ID_BYTES, description=f"1 to {MAX_ID_BYTES} UTF-8 bytes."
        ),
    ],
) -> Response:
    """Served from the user's live session in Redis if there is one (`source: hot`), else from
    Cassandra (`source: cold`). A backend failure is a 503, never an empty answer."""
    check_user_id(user_id)
    query = request.query_params  # parsed here, documented in QUERY_PARAMETERS
    limit = parse_limit(query.get("limit"))
    wanted = parse_kinds(query.get("kinds"))
    since_ms = parse_since(query.get("since"))
    reads: UserReads = request.app.state.user_reads
    outcome = await reads.recent_json(user_id, kinds=wanted, limit=limit, since_ms=since_ms)
    count_reads(_metrics(request), [outcome])
    if isinstance(outcome, ReadFailed):
        return error_response(backend_status(outcome.error), str(outcome.error))
    return OrjsonResponse(_answer_json(outcome))


@router.post(
    "/interactions:batchGet",
    response_model=None,
    responses={200: {"model": BatchGetResponse}, **ERRORS},
    summary="Recent interactions of many users",
)
async def batch_get(request: Request, body: BatchGetRequest) -> Response:
    """One entry per user, in request order, each with its own source, or its own error (400
    for a bad id, 503 for a backend failure) while the others are answered. Live users are read
    with one pipelined Redis call, the others with concurrent Cassandra reads. The whole request
    is a 503 only when no user could be answered because of a backend failure."""
    check_batch_size(len(body.user_ids), body.limit)
    wanted = check_kinds(body.kinds) if body.kinds else INTERACTION_KINDS
    since_ms = parse_since(body.since)
    problems = {user: problem for user in body.user_ids if (problem := id_problem(user))}
    valid = [user for user in body.user_ids if user not in problems]
    outcomes: dict[str, ReadOutcome[JsonRow]] = {}
    if valid:
        found = await _reader(request).recent_json_many(
            valid, kinds=wanted, limit=body.limit, since_ms=since_ms
        )
        count_reads(_metrics(request), found)
        outcomes = {outcome.user_id: outcome for outcome in found}
    failures = [o for o in outcomes.values() if isinstance(o, ReadFailed)]
    if failures and len(failures) == len(outcomes):  # nobody could be read: not a 200
        return error_response(backend_status(failures[0].error), str(failures[0].error))
    results: list[dict[str, Any]] = []
    for user in body.user_ids:
        if problem := problems.get(user):  # a lone surrogate would make orjson refuse it all
            results.append({"user_id": printable_id(user), **error_body(400, problem)})
            continue
        outcome = outcomes[user]
        if isinstance(outcome, ReadFailed):
            status = backend_status(outcome.error)
            results.append({"user_id": user, **error_body(status, str(outcome.error))})
        else:
            results.append(_answer_json(outcome))
    return OrjsonResponse({"results": results})
