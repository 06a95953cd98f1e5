"""Avro single-object encoding: every message names its writer schema, no registry needed.

Wire layout (Avro spec, "Single-object encoding")::

    C3 01 | 8-byte CRC-64-AVRO fingerprint of the writer schema, little-endian | Avro binary body

Decoding looks the fingerprint up in the catalogue and resolves the writer schema to the reader
version of its kind (the newest, unless pinned), so old and new producers can share a topic while
the worker sees one shape per kind. Resolution plans are built once per fingerprint, up front.
``ts`` comes back as int milliseconds, never as a datetime (see catalogue).

Confluent's wire format (0x00 + 4-byte registry id) is not implemented: there is no registry in
this deployment, and the single-object header carries the same information without one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from io import BytesIO
from typing import Any, NamedTuple, cast

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalogue import Catalogue, Schema, SchemaVersion, default_catalogue
from schemas.errors import (
    CatalogueError,
    InvalidEvent,
    NotSingleObjectEncoded,
    SchemaError,
    UndecodableEvent,
    UnencodableEvent,
    UnknownSchema,
)

MAGIC = b"\xc3\x01"
FINGERPRINT_SIZE = 8
HEADER_SIZE = len(MAGIC) + FINGERPRINT_SIZE

Record = dict[str, Any]

# What fastavro raises on a corrupt body: short reads (EOFError), a varint running off the end
# (IndexError), bad UTF-8 (UnicodeDecodeError, a ValueError), an enum or union index out of
# range (IndexError), a failed schema resolution (SchemaResolutionError, a ValueError).
_DECODE_ERRORS = (EOFError, IndexError, ValueError, TypeError, KeyError, OverflowError)
# What it raises on a record that does not fit the schema.
_ENCODE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError, struct.error)
# fastavro's writer truncates a float given for an int and writes any Python int as a varint
# (2**40 into an Avro int): other readers would choke, so the encoder checks these itself.
_INT_RANGES = {"int": range(-(2**31), 2**31), "long": range(-(2**63), 2**63)}


class DecodedEvent(NamedTuple):
    """One decoded message, already in the shape of the reader version of its kind.

    A NamedTuple rather than a frozen dataclass: it is built once per message, and at a few
    hundred thousand messages a second the cheaper constructor is worth ~10% of decode time.
    """

    kind: str
    record: Record
    writer_version: int


class _Plan(NamedTuple):
    """How to read one writer fingerprint; built once per catalogue, not per message."""

    kind: str
    version: int
    writer: Schema
    reader: Schema | None  # None when the writer is the reader: fastavro skips resolution


class Codec:
    """Encoder and decoder over one catalogue (the shipped one unless told otherwise).

    Each kind has one reader version: the newest, unless ``reader_versions`` pins an older one.
    A pinned codec behaves as a deployment built for that version would: it writes that
    version, and reads newer writers into the older shape (their added fields dropped), as long
    as its catalogue knows those writers. The catalogue is append-only and ships ahead of any
    producer using a new version; a reader meeting a fingerprint it lacks raises
    ``UnknownSchema`` and the event is dead-lettered, never guessed at.
    """

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        reader_versions: Mapping[str, int] | None = None,
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else default_catalogue()
        pins = reader_versions or {}
        unknown = sorted(set(pins) - set(self.catalogue.kinds))
        if unknown:
            raise CatalogueError(f"cannot pin a reader for unknown kind(s) {unknown}")
        self._readers = {
            kind: self.catalogue.version(kind, pins[kind])
            if kind in pins
            else self.catalogue.reader(kind)
            for kind in self.catalogue.kinds
        }
        self._plans: dict[bytes, _Plan] = {}
        for sv in self.catalogue:
            reader = self._readers[sv.kind]
            resolve = None if reader.fingerprint == sv.fingerprint else reader.decode_schema
            self._plans[sv.fingerprint] = _Plan(sv.kind, sv.version, sv.decode_schema, resolve)
        self._int_fields = {kind: _int_fields(sv.schema) for kind, sv in self._readers.items()}
        self._decimals = {kind: _decimal_fields(sv.schema) for kind, sv in self._readers.items()}

    def reader(self, kind: str) -> SchemaVersion:
        """The version of ``kind`` this codec writes, and resolves every writer into."""
        found = self._readers.get(kind)
        if found is None:
            raise InvalidEvent("unknown_kind", f"unknown event kind {kind!r}")
        return found

    def header(self, kind: str) -> bytes:
        """Marker and fingerprint that prefix every message of this kind written now."""
        return MAGIC + self.reader(kind).fingerprint

    def encode(self, kind: str, record: Mapping[str, Any]) -> bytes:
        """Encode with the reader version of ``kind``; extra or missing fields are errors.

        ``ts`` may be int milliseconds or an aware datetime; prices are ``Decimal`` with at
        most 4 decimal places. Business rules are not checked here (see ``validation``).
        """
        sv = self.reader(kind)
        for name, bounds in self._int_fields[kind]:
            value = record.get(name, 0)  # absent: fastavro fills the default or complains
            if type(value) is not int or value not in bounds:
                raise UnencodableEvent(f"{kind} v{sv.version}: {name}={value!r} is no Avro int")
        out = BytesIO()
        out.write(MAGIC)
        out.write(sv.fingerprint)
        try:
            schemaless_writer(out, sv.schema, record, strict_allow_default=True)
        except _ENCODE_ERRORS as exc:
            raise UnencodableEvent(f"{kind} v{sv.version}: {exc}") from exc
        return out.getvalue()

    def kind_of(self, data: bytes) -> str | None:
        """The kind a message's header names, without decoding it (None: no known header)."""
        plan = self._plans.get(data[2:HEADER_SIZE]) if data[:2] == MAGIC else None
        return None if plan is None else plan.kind

    def decode(self, data: bytes) -> DecodedEvent:
        """Decode one message into the reader shape of its kind, or raise a ``SchemaError``."""
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise NotSingleObjectEncoded(
                f"expected the C3 01 single-object marker and a fingerprint, got "
                f"{bytes(data[:HEADER_SIZE]).hex()} ({len(data)} bytes)"
            )
        plan = self._plans.get(data[2:HEADER_SIZE])
        if plan is None:
            raise UnknownSchema(bytes(data[2:HEADER_SIZE]))
        body = BytesIO(data)
        body.seek(HEADER_SIZE)
        try:
            record = cast(Record, schemaless_reader(body, plan.writer, plan.reader))
        except _DECODE_ERRORS as exc:
            raise UndecodableEvent(
                f"body does not decode as {plan.kind} v{plan.version}: {type(exc).__name__}: {exc}"
            ) from exc
        if body.tell() != len(data):
            # Leftover bytes mean the header lies about the writer: never trust such a record.
            raise UndecodableEvent(
                f"{len(data) - body.tell()} trailing bytes after a {plan.kind} "
                f"v{plan.version} record"
            )
        for name, scale, max_bytes in self._decimals[plan.kind]:
            record[name] = _decimal(record.get(name), name, scale, max_bytes)
        return DecodedEvent(plan.kind, record, plan.version)

    def decode_many(self, messages: Iterable[bytes]) -> list[DecodedEvent | SchemaError]:
        """Decode a batch; a bad message yields its error in place, the others still decode.

        The worker sends each error to the dead-letter topic with ``error.reason`` and carries
        on with the rest of the batch, so one poison message never stalls a partition.
        """
        results: list[DecodedEvent | SchemaError] = []
        append = results.append
        decode = self.decode
        for data in messages:
            try:
                append(decode(data))
            except SchemaError as exc:
                append(exc)
        return results


def _int_fields(schema: Schema) -> tuple[tuple[str, range], ...]:
    """The record's own int and long fields, with the values each can hold."""
    return tuple(
        (field["name"], _INT_RANGES[field["type"]])
        for field in schema["fields"]
        if isinstance(field["type"], str) and field["type"] in _INT_RANGES
    )


def _decimal_fields(schema: Schema) -> tuple[tuple[str, int, int], ...]:
    """The record's own decimal fields: name, scale, and the most bytes a value takes (two's
    complement of 10**(precision + scale) - 1: fastavro's writer does not hold values to the
    precision, so an integer part of up to ``precision`` digits round-trips)."""
    found = []
    for field in schema["fields"]:
        kind = field["type"]
        if isinstance(kind, dict) and kind.get("logicalType") == "decimal":
            scale = int(kind.get("scale", 0))
            most = 10 ** (int(kind["precision"]) + scale) - 1
            found.append((field["name"], scale, (most.bit_length() + 8) // 8))
    return tuple(found)


def _decimal(raw: Any, name: str, scale: int, max_bytes: int) -> Any:
    """A decimal's bytes (decoded without the logical type) as a Decimal, its length checked
    first: fastavro converted any length, ~400 ms of CPU for a 64 KiB value."""
    if not isinstance(raw, bytes):
        return raw
    if len(raw) > max_bytes:
        raise UndecodableEvent(
            f"{name} is {len(raw)} bytes; its precision needs at most {max_bytes}",
            reason="decimal_too_long",
        )
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)


@cache
def default_codec() -> Codec:
    """The codec over the shipped catalogue, built once per process."""
    return Codec()


def encode(kind: str, record: Mapping[str, Any]) -> bytes:
    """``Codec.encode`` with the shipped catalogue."""
    return default_codec().encode(kind, record)


def decode(data: bytes) -> DecodedEvent:
    """``Codec.decode`` with the shipped catalogue."""
    return default_codec().decode(data)


def decode_many(messages: Iterable[bytes]) -> list[DecodedEvent | SchemaError]:
    """``Codec.decode_many`` with the shipped catalogue."""
    return default_codec().decode_many(messages)
