"""The API's errors: one JSON shape for every failure, and the handlers that produce it.

``{"error": {"status": 422, "code": "invalid_request", "message": "...", "details": [...]}}``
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.responses import OrjsonResponse
from core.errors import InterstoreError
from store.errors import ColdStoreUnavailable, FeatureStoreUnavailable, ReadTimedOut, StoreError
from store.hot import HotStoreUnavailable

log = logging.getLogger("interstore.api")

STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
                422: "invalid_request", 503: "unavailable"}  # fmt: skip


RETRY_AFTER_S = "1"


class ApiError(InterstoreError):
    """A request the API answers with an error status and a message."""

    def __init__(self, status: int, message: str, *, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def error_body(status: int, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "status": status,
        "code": STATUS_CODES.get(status, "error"),
        "message": message,
    }
    if details:
        error["details"] = details
    return {"error": error}


def error_response(
    status: int,
    message: str,
    details: list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if status == 503:  # transient: worth a retry, soon
        headers = {"Retry-After": RETRY_AFTER_S, **(headers or {})}
    return OrjsonResponse(error_body(status, message, details), status_code=status, headers=headers)


def backend_status(error: StoreError) -> int:
    """503 for what may pass (unavailable, timed out); 500 only for what will not."""
    transient = (HotStoreUnavailable, ColdStoreUnavailable, FeatureStoreUnavailable, ReadTimedOut)
    return 503 if isinstance(error, transient) else 500


def store_error_response(method: str, path: str, error: StoreError) -> Response:
    """A backend's failure as the API answers it (logged): 503 if it may pass, else 500."""
    log.warning("%s %s: %s", method, path, error)
    return error_response(backend_status(error), str(error))


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "invalid request"


def _plain(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors as JSON-safe dicts (no exception objects, no raw input echoed back)."""
    return [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in errors
    ]


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, exc.details)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        message = _validation_message(errors)
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and "json" not in content_type:
            message = f"send the body as JSON with Content-Type: application/json ({message})"
        return error_response(422, message, _plain(errors))

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    async def store_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StoreError)
        return store_error_response(request.method, request.url.path, exc)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StoreError, store_error)
