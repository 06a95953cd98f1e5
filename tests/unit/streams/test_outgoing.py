"""The produce command's core: JSON lines in, accepted events and rejected lines out."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.validation import ValidationLimits
from streams.outgoing import AcceptedLine, RejectedLine, parse_lines, prepare_event
from tests.unit.schemas.events import NOW_MS, sample


def line(kind: str, **changes: Any) -> bytes:
    return orjson.dumps({"kind": kind, **sample(kind, **changes)}, default=str) + b"\n"


def run(lines: list[bytes | str], **kwargs: Any) -> list[AcceptedLine | RejectedLine]:
    return list(parse_lines(lines, clock=lambda: NOW_MS, **kwargs))


def test_good_lines_are_accepted_encoded_and_keyed_by_user() -> None:
    results = run([line(kind) for kind in ("click", "order", "wishlist", "app_open")])
    assert [r.line_no for r in results] == [1, 2, 3, 4]
    for result in results:
        assert isinstance(result, AcceptedLine)
        assert result.event.key == b"user-1"
        assert result.event.event_id == result.record["event_id"]
        decoded = decode(result.event.value)
        assert (decoded.kind, decoded.record) == (result.kind, result.record)


def test_bad_lines_are_rejected_with_line_number_and_reason_and_the_rest_go_on() -> None:
    lines: list[bytes | str] = [
        line("click"),
        b'{"kind": "click", "event_id": "e"\n',
        line("order", quantity=-2),
        b"[1, 2]\n",
        line("click", ts=NOW_MS + 2 * 86_400_000),
        b'{"kind": "refund", "event_id": "e"}\n',
        line("click", user_id="   "),
        line("wishlist", action="maybe"),
        line("app_open", surprise=1),
        line("app_open"),
    ]
    results = run(lines)
    rejected = {r.line_no: r.reason for r in results if isinstance(r, RejectedLine)}
    assert rejected == {
        2: "invalid_json",
        3: "negative_quantity",
        4: "invalid_json",
        5: "ts_out_of_range",
        6: "unknown_kind",
        7: "empty_id",
        8: "invalid_enum",
        9: "unknown_field",
    }
    assert [r.line_no for r in results if isinstance(r, AcceptedLine)] == [1, 10]
    assert all(r.message for r in results if isinstance(r, RejectedLine))


def test_blank_lines_are_skipped_but_counted_in_line_numbers() -> None:
    results = run(["\n", line("click").decode(), "   \r\n", "", line("order", quantity="x")])
    assert [(type(r).__name__, r.line_no) for r in results] == [
        ("AcceptedLine", 2),
        ("RejectedLine", 5),
    ]


def test_crlf_and_iso_timestamps_are_accepted() -> None:
    [result] = run([line("click", ts="2025-06-15T15:06:39Z").rstrip() + b"\r\n"])
    assert isinstance(result, AcceptedLine)
    assert result.record["ts"] == NOW_MS - 1_000


def test_the_payload_limit_applies_to_the_encoded_bytes() -> None:
    small = ValidationLimits(max_payload_bytes=64)
    [result] = run([line("click", surface="x" * 100)], limits=small)
    assert isinstance(result, RejectedLine)
    assert result.reason == "payload_too_large"


def test_prepare_event_turns_an_unencodable_record_into_invalid_event() -> None:
    record = sample("click", position=2**40)
    with pytest.raises(InvalidEvent) as caught:
        prepare_event("click", record, now_ms=NOW_MS)
    assert caught.value.reason == "unencodable"
