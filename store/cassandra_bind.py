"""Binding a prepared statement's values at a fraction of the driver's cost, to the same bytes.

``PreparedStatement.bind`` builds a column descriptor per value, asks the column-encryption
policy about it, and serializes a timestamp given as int milliseconds by way of two caught
AttributeErrors (it tries ``datetime`` first): ~15 us for an interaction's ten values here, most
of a cold write's per-row cost once rows are batched. ``Binder`` serializes each column with the
driver's own serializer, picked once per column (text, int and an int timestamp packed
directly), and falls back to ``PreparedStatement.bind`` for anything it does not take as is (a
value count that does not match, UNSET in the routing key, a value its serializer refuses), so
the driver raises its own errors. ``tests/integration/store/test_cassandra_bind.py`` checks the
bound bytes against the driver's, statement by statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from cassandra.cqltypes import DateType, Int32Type, LongType, UTF8Type, VarcharType
from cassandra.marshal import int32_pack, int64_pack
from cassandra.query import UNSET_VALUE, BoundStatement, PreparedStatement

Serialize = Callable[[Any], Any]
PACK_INT32: Serialize = int32_pack
PACK_INT64: Serialize = int64_pack
TEXT: Serialize = str.encode
"""UTF-8 (what UTF8Type.serialize does for a str); anything else raises: the driver's way."""


def _timestamp(protocol_version: int, value: Any) -> bytes:
    """Epoch milliseconds as an int, packed directly; anything else the driver's way."""
    if type(value) is int:
        packed_ms: bytes = int64_pack(value)
        return packed_ms
    packed: bytes = DateType.serialize(value, protocol_version)
    return packed


def _serializer(cql_type: Any, protocol_version: int) -> Serialize:
    if cql_type in (UTF8Type, VarcharType):
        return TEXT
    if cql_type is Int32Type:
        return PACK_INT32  # what Int32Type.serialize does
    if cql_type is LongType:
        return PACK_INT64
    if cql_type is DateType:
        return partial(_timestamp, protocol_version)
    return lambda value: cql_type.serialize(value, protocol_version)


class Binder:
    """``bind(values)`` of one prepared statement (protocol v4 or later, no column encryption:
    otherwise every call is the driver's own ``bind``)."""

    def __init__(self, prepared: PreparedStatement) -> None:
        self.prepared = prepared
        version = prepared.protocol_version
        self._serializers = [_serializer(c.type, version) for c in prepared.column_metadata]
        self._routing = tuple(prepared.routing_key_indexes or ())
        self._fast = version >= 4 and prepared.column_encryption_policy is None

    def bind(self, values: Sequence[Any]) -> BoundStatement:
        if not self._fast or len(values) != len(self._serializers):
            return self.prepared.bind(values)
        for index in self._routing:
            if values[index] is UNSET_VALUE or values[index] is None:
                return self.prepared.bind(values)
        try:
            serialized = [
                value if value is None or value is UNSET_VALUE else serialize(value)
                for serialize, value in zip(self._serializers, values, strict=True)
            ]
        except Exception:  # noqa: BLE001 - the driver's bind raises its own error for it
            return self.prepared.bind(values)
        bound = BoundStatement(self.prepared)
        bound.raw_values = values
        bound.values = serialized
        return bound
