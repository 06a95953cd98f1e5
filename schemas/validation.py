"""Business rules an event must pass before it is stored, shared by producer CLI and worker.

Avro guarantees types, not sense: an empty user id, a timestamp in 1970 or next year, or a
negative quantity would each encode fine and then poison a user's history or the features.
The producer rejects such events before sending; the worker applies the same rules to whatever
arrives (older producers, other languages) and dead-letters failures under ``InvalidEvent.reason``.

Rules raise on the first broken one. ``now_ms`` is an argument, never read from a clock here,
so tests and replays are deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from schemas.errors import InvalidEvent

MAX_ID_BYTES = 256
"""Longest id (UTF-8 bytes): ids are Cassandra clustering and partition key parts."""
MAX_FUTURE_MS = 86_400_000
"""How far ahead of ``now_ms`` a ts may be: device clocks drift, by a day they are wrong."""
MIN_TS_MS = 946_684_800_000
"""2000-01-01T00:00:00Z: anything older is a zeroed or unset device clock."""
MAX_PAYLOAD_BYTES = 64 * 1024
"""Largest encoded message: a few hundred bytes is normal, 64 KiB is a bug or an attack."""
PRICE_SCALE = 4
"""Decimal places of the Avro ``price`` (decimal(18, 4)); more would not encode."""
PRICE_LIMIT = Decimal(10) ** (18 - PRICE_SCALE)
"""Prices must stay below this (precision 18 = 14 integer digits)."""

_BASE_IDS = ("event_id", "user_id")
_INTERACTION_IDS = (*_BASE_IDS, "product_id", "category_id")
_IDS_BY_KIND: dict[str, tuple[str, ...]] = {
    "click": _INTERACTION_IDS,
    "order": (*_INTERACTION_IDS, "order_id"),
    "wishlist": _INTERACTION_IDS,
    "app_open": _BASE_IDS,
}
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class ValidationLimits:
    """The numeric limits, overridable per deployment (or per test)."""

    max_id_bytes: int = MAX_ID_BYTES
    max_future_ms: int = MAX_FUTURE_MS
    min_ts_ms: int = MIN_TS_MS
    max_payload_bytes: int = MAX_PAYLOAD_BYTES


DEFAULT_LIMITS = ValidationLimits()


def check_payload_size(data: bytes, limits: ValidationLimits = DEFAULT_LIMITS) -> None:
    """Reject an oversized message on its raw bytes, before paying to decode it."""
    if len(data) > limits.max_payload_bytes:
        raise InvalidEvent(
            "payload_too_large",
            f"payload is {len(data)} bytes, the limit is {limits.max_payload_bytes}",
        )


def validate(
    kind: str,
    record: Mapping[str, Any],
    *,
    now_ms: int,
    limits: ValidationLimits = DEFAULT_LIMITS,
) -> None:
    """Raise ``InvalidEvent`` for the first rule ``record`` (of ``kind``) breaks."""
    ids = _IDS_BY_KIND.get(kind)
    if ids is None:
        raise InvalidEvent("unknown_kind", f"unknown event kind {kind!r}")
    for name in ids:
        _check_id(name, record.get(name), limits.max_id_bytes)
    _check_ts(record.get("ts"), now_ms, limits)
    if kind == "order":
        _check_order(record)


def _check_id(name: str, value: object, max_bytes: int) -> None:
    if value is None:
        raise InvalidEvent("missing_field", f"{name} is missing")
    if not isinstance(value, str):
        raise InvalidEvent("wrong_type", f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidEvent("empty_id", f"{name} is empty")
    # A str of n code points is at most 4n UTF-8 bytes: most ids skip the encode.
    if len(value) * 4 > max_bytes:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise InvalidEvent("id_too_long", f"{name} is {size} bytes, the limit is {max_bytes}")


def _check_ts(ts: object, now_ms: int, limits: ValidationLimits) -> None:
    if ts is None:
        raise InvalidEvent("missing_field", "ts is missing")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise InvalidEvent("wrong_type", f"ts must be int milliseconds, got {type(ts).__name__}")
    if ts < limits.min_ts_ms:
        raise InvalidEvent("ts_out_of_range", f"ts {ts} is before {limits.min_ts_ms} (2000-01-01)")
    latest = now_ms + limits.max_future_ms
    if ts > latest:
        raise InvalidEvent(
            "ts_out_of_range", f"ts {ts} is more than {limits.max_future_ms} ms after now {now_ms}"
        )


def _check_order(record: Mapping[str, Any]) -> None:
    """Quantity 0 is allowed (a cancelled line still says what was ordered); below is not."""
    quantity = record.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidEvent("wrong_type", f"quantity must be an int, got {quantity!r}")
    if quantity < 0:
        raise InvalidEvent("negative_quantity", f"quantity {quantity} is negative")
    price = record.get("price")
    if not isinstance(price, Decimal) or not price.is_finite():
        raise InvalidEvent("invalid_price", f"price must be a finite Decimal, got {price!r}")
    if price < 0:
        raise InvalidEvent("negative_price", f"price {price} is negative")
    exponent = price.as_tuple().exponent
    if (isinstance(exponent, int) and exponent < -PRICE_SCALE) or price >= PRICE_LIMIT:
        raise InvalidEvent(
            "invalid_price",
            f"price {price} does not fit decimal(18, {PRICE_SCALE}): "
            f"at most {PRICE_SCALE} decimal places, below {PRICE_LIMIT}",
        )
    currency = record.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise InvalidEvent(
            "invalid_currency", f"currency must be 3 upper-case letters (ISO 4217): {currency!r}"
        )
