"""JSON lines into encodable records: timestamps, prices, enums, and shape errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from schemas.codec import decode, encode
from schemas.errors import InvalidEvent
from schemas.json_events import from_json_object, parse_line, to_decimal, to_millis
from schemas.validation import validate
from tests.unit.schemas.events import NOW_MS, SAMPLES

JAN_1_2025_MS = 1_735_689_600_000


def line(kind: str, **fields: Any) -> bytes:
    """A JSON line for the sample of ``kind``, fields overridden (``None`` removes one)."""
    obj: dict[str, Any] = {"kind": kind, **SAMPLES[kind], **fields}
    obj = {k: v for k, v in obj.items() if v is not None}
    return orjson.dumps(obj, default=str)


def reason_of(data: bytes | str) -> str:
    with pytest.raises(InvalidEvent) as err:
        parse_line(data)
    return err.value.reason


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_samples_survive_json_validation_and_avro(kind: str) -> None:
    parsed_kind, record = parse_line(line(kind))
    assert (parsed_kind, record) == (kind, SAMPLES[kind])
    validate(kind, record, now_ms=NOW_MS)
    assert decode(encode(kind, record)).record == SAMPLES[kind]


@pytest.mark.parametrize(
    ("ts", "millis"),
    [
        (JAN_1_2025_MS, JAN_1_2025_MS),
        ("2025-01-01T00:00:00Z", JAN_1_2025_MS),
        ("2025-01-01T00:00:00+00:00", JAN_1_2025_MS),
        ("2025-01-01T01:00:00+01:00", JAN_1_2025_MS),
        ("2024-12-31T19:00:00-05:00", JAN_1_2025_MS),
        ("2025-01-01T00:00:00", JAN_1_2025_MS),  # naive means UTC
        ("2025-01-01 00:00:00.123", JAN_1_2025_MS + 123),
        ("2025-01-01T00:00:00.123999Z", JAN_1_2025_MS + 123),  # truncated, never rounded up
        ("2025-01-01", JAN_1_2025_MS),
        ("1999-12-31T23:59:59.999Z", 946_684_799_999),
    ],
)
def test_ts_as_epoch_millis_or_iso_8601(ts: int | str, millis: int) -> None:
    assert to_millis(ts) == millis
    assert parse_line(line("click", ts=ts))[1]["ts"] == millis


@pytest.mark.parametrize("ts", ["yesterday", "2025-13-01T00:00:00Z", 1.7e12, True, "1735689600000"])
def test_bad_ts(ts: object) -> None:
    with pytest.raises(InvalidEvent) as err:
        to_millis(ts)
    assert err.value.reason == "invalid_ts"
    assert reason_of(orjson.dumps({"kind": "app_open", "event_id": "e", "user_id": "u", "ts": ts}))


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("19.99", Decimal("19.99")),
        (19.99, Decimal("19.99")),
        (20, Decimal("20")),
        ("19.990000", Decimal("19.9900")),
        ("0.0001", Decimal("0.0001")),
    ],
)
def test_price_from_string_or_number(price: object, expected: Decimal) -> None:
    record = parse_line(line("order", price=price))[1]
    assert record["price"] == expected
    assert str(record["price"]) == str(expected)
    assert decode(encode("order", record)).record["price"] == expected


@pytest.mark.parametrize("price", ["19.99999", "abc", "NaN", "Infinity", True, [1]])
def test_bad_price(price: object) -> None:
    assert reason_of(line("order", price=price)) == "invalid_price"
    with pytest.raises(InvalidEvent):
        to_decimal(price, 4)


@pytest.mark.parametrize("action", ["add", "Add", "ADD"])
def test_wishlist_action_is_case_insensitive(action: str) -> None:
    assert parse_line(line("wishlist", action=action))[1]["action"] == "ADD"


def test_wishlist_action_must_be_known() -> None:
    assert reason_of(line("wishlist", action="toggle")) == "invalid_enum"
    assert reason_of(line("wishlist", action=1)) == "invalid_enum"


def test_optional_fields_default_or_pass_through() -> None:
    envelope = {"event_id": "e", "user_id": "u", "ts": JAN_1_2025_MS}
    _, record = from_json_object({"kind": "app_open", **envelope})
    assert record == {**envelope, "app_version": None, "platform": None}
    _, record = from_json_object({"kind": "app_open", **envelope, "platform": "ios"})
    assert record == {**envelope, "app_version": None, "platform": "ios"}


def test_unknown_and_missing_fields_are_named() -> None:
    with pytest.raises(InvalidEvent, match="colour, size") as err:
        parse_line(line("click", size="XL", colour="red"))
    assert err.value.reason == "unknown_field"
    with pytest.raises(InvalidEvent, match="position") as missing:
        parse_line(line("click", position=None))
    assert missing.value.reason == "missing_field"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b'{"event_id": "e"}', "missing_field"),
        (b'{"kind": "page_view"}', "unknown_kind"),
        (b'{"kind": 3}', "unknown_kind"),
        (line("click", position="3"), "wrong_type"),
        (line("click", position=2**31), "wrong_type"),
        (line("click", position=1.5), "wrong_type"),
        (line("click", position=True), "wrong_type"),
        (line("click", surface=5), "wrong_type"),
        (line("app_open", platform=5), "wrong_type"),
    ],
)
def test_shape_errors(data: bytes, expected: str) -> None:
    assert reason_of(data) == expected


def test_str_lines_work_too() -> None:
    assert parse_line(line("click").decode())[1] == SAMPLES["click"]
