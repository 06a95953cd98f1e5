"""Single-object encoding: round trips, the exact header, and every decode failure typed."""

from __future__ import annotations

import random
import string
from decimal import Decimal
from typing import Any

import pytest

from schemas.catalogue import default_catalogue
from schemas.codec import HEADER_SIZE, MAGIC, Codec, DecodedEvent, decode, decode_many, encode
from schemas.errors import (
    InvalidEvent,
    NotSingleObjectEncoded,
    SchemaError,
    UndecodableEvent,
    UnencodableEvent,
    UnknownSchema,
)
from tests.unit.schemas.events import NOW_MS, SAMPLES, sample

KINDS = sorted(SAMPLES)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips(kind: str) -> None:
    decoded = decode(encode(kind, SAMPLES[kind]))
    assert decoded == DecodedEvent(kind, SAMPLES[kind], 1)
    assert type(decoded.record["ts"]) is int  # never a datetime


@pytest.mark.parametrize("kind", KINDS)
def test_header_is_marker_then_little_endian_fingerprint(kind: str) -> None:
    data = encode(kind, SAMPLES[kind])
    fingerprint = default_catalogue().reader(kind).fingerprint
    assert data[:2] == b"\xc3\x01" == MAGIC
    assert data[2:HEADER_SIZE] == fingerprint
    assert Codec().header(kind) == b"\xc3\x01" + fingerprint


def test_optional_fields_default_to_none_and_datetime_ts_is_accepted() -> None:
    from datetime import UTC, datetime

    record = {"event_id": "e", "user_id": "u", "ts": datetime(2025, 1, 1, tzinfo=UTC)}
    decoded = decode(encode("app_open", record)).record
    assert decoded == {**record, "ts": 1_735_689_600_000, "app_version": None, "platform": None}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc3",
        b"\xc3\x01\x00",
        b"\xc3\x01" + bytes(7),
        b"\x00" + bytes(20),
        b"\xc3\x02" + bytes(9),
    ],
)
def test_bad_marker_or_too_short(data: bytes) -> None:
    with pytest.raises(NotSingleObjectEncoded) as err:
        decode(data)
    assert err.value.reason == "bad_magic"


def test_unknown_fingerprint_names_it_in_hex() -> None:
    data = MAGIC + bytes.fromhex("deadbeefcafef00d") + b"\x00"
    with pytest.raises(UnknownSchema, match="deadbeefcafef00d") as err:
        decode(data)
    assert err.value.reason == "unknown_schema"
    assert err.value.fingerprint == bytes.fromhex("deadbeefcafef00d")


@pytest.mark.parametrize("kind", KINDS)
def test_every_truncation_of_the_body_is_undecodable(kind: str) -> None:
    data = encode(kind, SAMPLES[kind])
    for cut in range(HEADER_SIZE, len(data)):
        with pytest.raises(UndecodableEvent) as err:
            decode(data[:cut])
        assert err.value.reason == "undecodable"


def test_trailing_bytes_are_undecodable() -> None:
    with pytest.raises(UndecodableEvent, match="trailing"):
        decode(encode("click", SAMPLES["click"]) + b"\x00")


def test_body_of_another_kind_is_undecodable() -> None:
    click_body = encode("click", SAMPLES["click"])[HEADER_SIZE:]
    with pytest.raises(UndecodableEvent):
        decode(Codec().header("wishlist") + click_body)


def test_random_corruption_only_ever_raises_schema_errors() -> None:
    rnd = random.Random(7)
    messages = [bytearray(encode(kind, SAMPLES[kind])) for kind in KINDS]
    corrupted = []
    for _ in range(2_000):
        data = bytearray(rnd.choice(messages))
        for _ in range(rnd.randint(1, 3)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        corrupted.append(bytes(data))
    # decode_many catches SchemaError only: anything else fastavro raised would escape here
    reasons = {r.reason for r in decode_many(corrupted) if isinstance(r, SchemaError)}
    assert reasons == {"bad_magic", "unknown_schema", "undecodable"}


@pytest.mark.parametrize(
    ("kind", "record"),
    [
        ("click", {k: v for k, v in SAMPLES["click"].items() if k != "surface"}),
        ("click", sample("click", referrer="x")),
        ("click", sample("click", position="3")),
        ("click", sample("click", position=2**31)),
        ("click", sample("click", position=-(2**31) - 1)),
        ("click", sample("click", position=3.7)),
        ("click", sample("click", position=True)),
        ("click", sample("click", ts=2**63)),
        ("app_open", sample("app_open", platform=3)),
        ("order", sample("order", price=19.99)),
        ("order", sample("order", price=Decimal("1.00001"))),
        ("wishlist", sample("wishlist", action="add")),
    ],
)
def test_records_that_do_not_fit_the_schema_are_unencodable(kind: str, record: Any) -> None:
    with pytest.raises(UnencodableEvent) as err:
        encode(kind, record)
    assert err.value.reason == "unencodable"


def test_unknown_kind_cannot_be_encoded() -> None:
    with pytest.raises(InvalidEvent) as err:
        encode("page_view", {})
    assert err.value.reason == "unknown_kind"


def test_decode_many_keeps_order_and_puts_errors_in_place() -> None:
    good = [encode(kind, SAMPLES[kind]) for kind in KINDS]
    results = decode_many([good[0], b"junk", good[1], MAGIC + bytes(8), *good[2:]])
    assert [type(r).__name__ for r in results] == [
        "DecodedEvent",
        "NotSingleObjectEncoded",
        "DecodedEvent",
        "UnknownSchema",
        "DecodedEvent",
        "DecodedEvent",
    ]
    decoded = [r for r in results if isinstance(r, DecodedEvent)]
    assert [d.record for d in decoded] == [SAMPLES[kind] for kind in KINDS]


def _text(rnd: random.Random, low: int = 1) -> str:
    alphabet = string.ascii_letters + string.digits + "-_:éß中😀"
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(low, 40)))


def _random_event(rnd: random.Random) -> tuple[str, dict[str, Any]]:
    kind = rnd.choice(KINDS)
    record: dict[str, Any] = {
        "event_id": _text(rnd),
        "user_id": _text(rnd),
        "ts": rnd.randint(946_684_800_000, NOW_MS + 86_400_000),
    }
    if kind != "app_open":
        record |= {"product_id": _text(rnd), "category_id": _text(rnd)}
    if kind == "click":
        record |= {"surface": _text(rnd, 0), "position": rnd.randint(0, 2**31 - 1)}
    elif kind == "order":
        cents = rnd.randint(0, 10**18 - 1)
        record |= {
            "order_id": _text(rnd),
            "quantity": rnd.randint(0, 10_000),
            "price": Decimal(cents).scaleb(-rnd.randint(0, 4)),
            "currency": rnd.choice(["EUR", "USD", "INR", "JPY", "KWD"]),
        }
    elif kind == "wishlist":
        record["action"] = rnd.choice(["ADD", "REMOVE"])
    else:
        record |= {
            "app_version": rnd.choice([None, _text(rnd)]),
            "platform": rnd.choice([None, "ios", "android", "web"]),
        }
    return kind, record


def test_hundreds_of_random_events_round_trip() -> None:
    rnd = random.Random(2024)
    events = [_random_event(rnd) for _ in range(500)]
    results = decode_many([encode(kind, record) for kind, record in events])
    assert results == [DecodedEvent(kind, record, 1) for kind, record in events]


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_kind_of_reads_the_header_only(kind: str) -> None:
    codec = Codec()
    data = encode(kind, sample(kind))
    assert codec.kind_of(data) == kind
    assert codec.kind_of(data[:HEADER_SIZE]) == kind  # the body is not looked at
    assert codec.kind_of(b"\x00\x01" + data[2:]) is None
    assert codec.kind_of(MAGIC + b"\xff" * 8) is None
    assert codec.kind_of(b"") is None
