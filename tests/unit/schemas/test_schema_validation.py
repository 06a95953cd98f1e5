"""Every validation rule, at its boundaries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from schemas.codec import encode
from schemas.errors import InvalidEvent
from schemas.validation import (
    DEFAULT_LIMITS,
    MAX_FUTURE_MS,
    MIN_TS_MS,
    ValidationLimits,
    check_payload_size,
    validate,
)
from tests.unit.schemas.events import NOW_MS, SAMPLES, sample


def reason(kind: str, record: dict[str, Any], limits: ValidationLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(InvalidEvent) as err:
        validate(kind, record, now_ms=NOW_MS, limits=limits)
    assert str(err.value)  # a human message too
    return err.value.reason


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_samples_are_valid(kind: str) -> None:
    validate(kind, SAMPLES[kind], now_ms=NOW_MS)


def test_unknown_kind() -> None:
    assert reason("page_view", SAMPLES["click"]) == "unknown_kind"


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("click", "event_id"),
        ("click", "user_id"),
        ("click", "product_id"),
        ("click", "category_id"),
        ("wishlist", "product_id"),
        ("order", "order_id"),
        ("app_open", "user_id"),
    ],
)
def test_ids_missing_empty_or_too_long(kind: str, field: str) -> None:
    without = {k: v for k, v in SAMPLES[kind].items() if k != field}
    assert reason(kind, without) == "missing_field"
    assert reason(kind, sample(kind, **{field: None})) == "missing_field"
    assert reason(kind, sample(kind, **{field: ""})) == "empty_id"
    assert reason(kind, sample(kind, **{field: "  "})) == "empty_id"
    assert reason(kind, sample(kind, **{field: 42})) == "wrong_type"
    validate(kind, sample(kind, **{field: "x" * 256}), now_ms=NOW_MS)
    assert reason(kind, sample(kind, **{field: "x" * 257})) == "id_too_long"


def test_id_length_counts_utf8_bytes_not_characters() -> None:
    validate("click", sample("click", user_id="é" * 128), now_ms=NOW_MS)  # 256 bytes
    assert reason("click", sample("click", user_id="é" * 128 + "x")) == "id_too_long"
    assert reason("click", sample("click", user_id="😀" * 65)) == "id_too_long"  # 260 bytes


def test_app_open_needs_no_product() -> None:
    validate("app_open", {"event_id": "e", "user_id": "u", "ts": NOW_MS}, now_ms=NOW_MS)


def test_ts_boundaries() -> None:
    validate("click", sample("click", ts=NOW_MS + MAX_FUTURE_MS), now_ms=NOW_MS)
    assert reason("click", sample("click", ts=NOW_MS + MAX_FUTURE_MS + 1)) == "ts_out_of_range"
    validate("click", sample("click", ts=MIN_TS_MS), now_ms=NOW_MS)  # 2000-01-01T00:00:00Z
    assert reason("click", sample("click", ts=MIN_TS_MS - 1)) == "ts_out_of_range"
    assert reason("click", sample("click", ts=946_598_400_000)) == "ts_out_of_range"  # 1999-12-31
    assert reason("click", sample("click", ts=0)) == "ts_out_of_range"


def test_ts_missing_or_not_int_millis() -> None:
    assert reason("click", sample("click", ts=None)) == "missing_field"
    assert reason("click", sample("click", ts="2025-01-01")) == "wrong_type"
    assert reason("click", sample("click", ts=float(NOW_MS))) == "wrong_type"
    assert reason("click", sample("click", ts=True)) == "wrong_type"


def test_quantity() -> None:
    validate("order", sample("order", quantity=0), now_ms=NOW_MS)
    assert reason("order", sample("order", quantity=-1)) == "negative_quantity"
    assert reason("order", sample("order", quantity="2")) == "wrong_type"


@pytest.mark.parametrize("price", ["0", "0.0001", "99999999999999.9999", "-0"])
def test_prices_that_fit(price: str) -> None:
    validate("order", sample("order", price=Decimal(price)), now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (Decimal("-0.0001"), "negative_price"),
        (Decimal("0.00001"), "invalid_price"),
        (Decimal("100000000000000"), "invalid_price"),
        (Decimal("NaN"), "invalid_price"),
        (Decimal("Infinity"), "invalid_price"),
        (19.99, "invalid_price"),
        (None, "invalid_price"),
    ],
)
def test_prices_that_do_not(price: object, expected: str) -> None:
    assert reason("order", sample("order", price=price)) == expected


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "", None])
def test_currency_is_three_capital_letters(currency: object) -> None:
    assert reason("order", sample("order", currency=currency)) == "invalid_currency"


def test_payload_size_on_raw_bytes() -> None:
    check_payload_size(b"x" * 65_536)
    with pytest.raises(InvalidEvent) as err:
        check_payload_size(b"x" * 65_537)
    assert err.value.reason == "payload_too_large"
    check_payload_size(encode("click", SAMPLES["click"]))


def test_limits_are_overridable() -> None:
    strict = ValidationLimits(
        max_id_bytes=16, max_future_ms=0, min_ts_ms=NOW_MS, max_payload_bytes=4
    )
    assert reason("click", sample("click", user_id="u" * 17), strict) == "id_too_long"
    assert reason("click", sample("click", ts=NOW_MS + 1), strict) == "ts_out_of_range"
    validate("click", sample("click", user_id="u" * 16, ts=NOW_MS), now_ms=NOW_MS, limits=strict)
    with pytest.raises(InvalidEvent):
        check_payload_size(b"12345", strict)
    with pytest.raises(AttributeError):
        strict.max_id_bytes = 1  # type: ignore[misc]
