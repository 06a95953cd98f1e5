"""Parsing and checking request parameters (kinds, since, ids); ApiError 422 on bad input."""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import ApiError
from api.models import DEFAULT_LIMIT, MAX_BATCH_ITEMS, MAX_ID_BYTES, MAX_LIMIT
from schemas.times import iso_to_epoch_ms
from store.interactions import INTERACTION_KINDS

MAX_EPOCH_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last millisecond ISO 8601 can write."""
MAX_DIGITS = 18
"""More digits than any bound here needs: refused before ``int()`` sees them."""


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
    digits = raw.strip()
    if not is_ascii_digits(digits):  # str.isdigit() also takes "²" and other digits int() refuses
        raise ApiError(422, f"query.limit: {raw[:32]!r} is not a whole number")
    if len(digits) > MAX_DIGITS:  # int() of thousands of digits is slow, then refused
        raise ApiError(422, f"query.limit: must be 1 to {MAX_LIMIT}, got {len(digits)} digits")
    value = int(digits)
    if not 1 <= value <= MAX_LIMIT:
        raise ApiError(422, f"query.limit: must be 1 to {MAX_LIMIT}, got {value}")
    return value


def parse_since(raw: int | str | None) -> int | None:
    """Epoch milliseconds (an integer, or a string of digits) or ISO 8601 -> epoch ms."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ApiError(422, "since: expected epoch milliseconds or an ISO 8601 time")
    outside = f"since: outside 0..{MAX_EPOCH_MS} epoch milliseconds"
    if isinstance(raw, int):
        if not 0 <= raw <= MAX_EPOCH_MS:  # never formatted: str() of 4,300+ digits raises
            raise ApiError(422, outside)
        return raw
    text = raw.strip()
    if is_ascii_digits(text):
        if len(text) > MAX_DIGITS or not 0 <= (millis := int(text)) <= MAX_EPOCH_MS:
            raise ApiError(422, outside)
        return millis
    try:
        millis = iso_to_epoch_ms(text)
    except (ValueError, OverflowError):
        raise ApiError(
            422, f"since: {raw[:64]!r} is neither epoch milliseconds nor an ISO 8601 time"
        ) from None
    if not 0 <= millis <= MAX_EPOCH_MS:
        raise ApiError(422, f"since: {millis} is outside 0..{MAX_EPOCH_MS} epoch milliseconds")
    return millis


def is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def id_problem(user_id: str, what: str = "user id") -> str | None:
    """Why ``user_id`` is not a valid id (of ``what``), or None."""
    try:
        size = len(user_id.encode())
    except UnicodeEncodeError:
        return f"{what} is not valid UTF-8 (it holds a lone surrogate)"
    if not 1 <= size <= MAX_ID_BYTES:
        return f"{what} must be 1 to {MAX_ID_BYTES} UTF-8 bytes, got {size}"
    return None


def printable_id(user_id: str) -> str:
    """The id as a JSON-safe string: a lone surrogate (not UTF-8, so orjson refuses it) is
    written as its ``\\udXXX`` escape; any valid id is unchanged."""
    try:
        user_id.encode()
    except UnicodeEncodeError:
        return user_id.encode("utf-8", "backslashreplace").decode()
    return user_id


def check_user_id(user_id: str) -> str:
    if problem := id_problem(user_id):
        raise ApiError(422, f"user_id: {problem}")
    return user_id


def check_batch_size(users: int, limit: int) -> None:
    """A batch read's users x limit: at most MAX_BATCH_ITEMS interactions in one response."""
    if users * limit > MAX_BATCH_ITEMS:
        raise ApiError(
            422,
            f"user_ids x limit is {users} x {limit} = {users * limit}: at most "
            f"{MAX_BATCH_ITEMS} interactions per request (fewer users or a lower limit)",
        )
