"""Parsing and checking request parameters (kinds, since, ids); ApiError 422 on bad input."""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import ApiError
from api.models import DEFAULT_LIMIT, MAX_ID_BYTES, MAX_LIMIT
from schemas.times import iso_to_epoch_ms
from store.interactions import INTERACTION_KINDS

MAX_EPOCH_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last millisecond ISO 8601 can write."""


def parse_kinds(raw: str | None) -> tuple[str, ...]:
    """``click,order`` -> ("click", "order"); None -> every kind."""
    if raw is None:
        return INTERACTION_KINDS
    kinds = [kind.strip() for kind in raw.split(",") if kind.strip()]
    if not kinds:
        raise ApiError(422, "kinds: name at least one kind, e.g. kinds=click,order")
    return check_kinds(kinds)


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    if unknown := [kind for kind in kinds if kind not in INTERACTION_KINDS]:
        known = ", ".join(INTERACTION_KINDS)
        raise ApiError(422, f"kinds: unknown kind {unknown[0]!r}; known: {known}")
    return tuple(dict.fromkeys(kinds))


def parse_limit(raw: str | None) -> int:
    """The ``limit`` query parameter: 1..MAX_LIMIT, DEFAULT_LIMIT when absent."""
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.strip().isdigit():
        raise ApiError(422, f"query.limit: {raw[:32]!r} is not a whole number")
    value = int(raw)
    if not 1 <= value <= MAX_LIMIT:
        raise ApiError(422, f"query.limit: must be 1 to {MAX_LIMIT}, got {value}")
    return value


def parse_since(raw: int | str | None) -> int | None:
    """Epoch milliseconds (an integer, or a string of digits) or ISO 8601 -> epoch ms."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ApiError(422, "since: expected epoch milliseconds or an ISO 8601 time")
    if isinstance(raw, int) or raw.strip().isdigit():
        millis = int(raw)
    else:
        try:
            millis = iso_to_epoch_ms(raw.strip())
        except ValueError:
            raise ApiError(
                422, f"since: {raw[:64]!r} is neither epoch milliseconds nor an ISO 8601 time"
            ) from None
    if not 0 <= millis <= MAX_EPOCH_MS:
        raise ApiError(422, f"since: {millis} is outside 0..{MAX_EPOCH_MS} epoch milliseconds")
    return millis


def id_problem(user_id: str, what: str = "user id") -> str | None:
    """Why ``user_id`` is not a valid id (of ``what``), or None."""
    try:
        size = len(user_id.encode())
    except UnicodeEncodeError:
        return f"{what} is not valid UTF-8 (it holds a lone surrogate)"
    if not 1 <= size <= MAX_ID_BYTES:
        return f"{what} must be 1 to {MAX_ID_BYTES} UTF-8 bytes, got {size}"
    return None


def check_user_id(user_id: str) -> str:
    if problem := id_problem(user_id):
        raise ApiError(422, f"user_id: {problem}")
    return user_id
