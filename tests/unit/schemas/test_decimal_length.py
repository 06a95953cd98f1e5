"""An order whose ``price`` holds 64 KiB of bytes is refused on its length, before any
conversion (fastavro turned the bytes into a Decimal first: ~400 ms of CPU against ~0.01 ms for a
normal order, and a thousand of them stalled the worker past its heartbeats)."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from fastavro import schemaless_writer

from schemas.codec import HEADER_SIZE, MAGIC, decode, default_codec, encode
from schemas.errors import UndecodableEvent
from tests.unit.schemas.events import sample


def order_with_price_bytes(price: bytes) -> bytes:
    """A well-formed order whose price field carries ``price`` as its raw bytes."""
    good = encode("order", sample("order"))
    writer = default_codec().reader("order")
    record = dict(decode(good).record)
    plain = {**writer.decode_schema}  # bytes without the logical type: written as given
    record["price"] = price
    record["ts"] = sample("order")["ts"]
    body = io.BytesIO()
    schemaless_writer(body, plain, record)
    return good[:HEADER_SIZE] + body.getvalue()


def test_a_64_kib_price_is_refused_on_its_length_at_once() -> None:
    message = order_with_price_bytes(b"\x01" * 65536)
    started = time.process_time()
    with pytest.raises(UndecodableEvent) as refused:
        decode(message)
    assert time.process_time() - started < 0.05  # before: ~0.4 s converting it
    assert refused.value.reason == "decimal_too_long"


def test_normal_prices_still_decode_exactly() -> None:
    for price in ("19.9900", "0", "99999999999999.9999"):
        record = sample("order", price=Decimal(price))
        assert decode(encode("order", record)).record["price"] == Decimal(price)
    assert encode("order", sample("order"))[:2] == MAGIC
