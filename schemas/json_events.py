"""JSON lines -> ``(kind, record)`` ready for ``Codec.encode`` (the producer CLI's input).

One object per line: ``{"kind": "click", "event_id": ..., "user_id": ..., "ts": ..., ...}``.
The fields allowed and required come from the newest schema of the kind, so a new optional
field in the ``.avsc`` is accepted here with no code change. Conversions, driven by the Avro
type of each field:

- timestamp-millis: int epoch milliseconds, or an ISO 8601 string (naive means UTC). Always
  int milliseconds afterwards, the same as the decoder returns, so one type flows end to end.
- decimal: a string (preferred: exact) or a JSON number, to ``Decimal`` at the schema's scale.
- enum: matched case-insensitively (``"add"`` -> ``"ADD"``).

Only shape is checked here; business rules are ``validation.validate``'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from schemas.catalogue import Catalogue, Schema, default_catalogue
from schemas.codec import Record
from schemas.errors import InvalidEvent
from schemas.times import iso_to_epoch_ms

_INT32 = range(-(2**31), 2**31)
_INT64 = range(-(2**63), 2**63)
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "null": type(None),
    "boolean": bool,
    "string": str,
}


def parse_line(line: bytes | str, catalogue: Catalogue | None = None) -> tuple[str, Record]:
    """Parse one JSON line into ``(kind, record)``; every failure is an ``InvalidEvent``."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid_json", f"not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise InvalidEvent("invalid_json", f"expected a JSON object, got {type(obj).__name__}")
    return from_json_object(obj, catalogue)


def from_json_object(
    obj: Mapping[str, Any], catalogue: Catalogue | None = None
) -> tuple[str, Record]:
    """Convert a parsed JSON object (with a ``kind`` key) into ``(kind, record)``."""
    catalogue = catalogue if catalogue is not None else default_catalogue()
    kind = obj.get("kind")
    if kind is None:
        raise InvalidEvent("missing_field", "kind is missing")
    if not isinstance(kind, str):
        raise InvalidEvent("unknown_kind", f"kind must be a string, got {kind!r}")
    schema = catalogue.reader(kind).schema
    fields: list[dict[str, Any]] = schema["fields"]
    unknown = sorted(set(obj) - {"kind"} - {f["name"] for f in fields})
    if unknown:
        raise InvalidEvent("unknown_field", f"{kind} has no field(s) {', '.join(unknown)}")
    named: dict[str, Any] = schema.get("__named_schemas", {})
    record: Record = {}
    for field in fields:
        name = field["name"]
        if name in obj:
            record[name] = _convert(name, field["type"], obj[name], named)
        elif "default" in field:
            record[name] = deepcopy(field["default"])
        else:
            raise InvalidEvent("missing_field", f"{kind} requires field {name}")
    return kind, record


def to_millis(value: object) -> int:
    """Epoch milliseconds from an int (as is) or an ISO 8601 string (naive means UTC)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise InvalidEvent("invalid_ts", f"ts must be epoch ms or ISO 8601, got {value!r}")
    try:
        return iso_to_epoch_ms(value)
    except ValueError as exc:
        raise InvalidEvent("invalid_ts", f"ts {value!r} is not ISO 8601") from exc


def to_decimal(value: object, scale: int) -> Decimal:
    """A ``Decimal`` with at most ``scale`` places; extra zero places are dropped, not rounded."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidEvent("invalid_price", f"expected a decimal string or number, got {value!r}")
    try:
        # repr(float) is the shortest string that round-trips: 19.99 stays 19.99
        amount = Decimal(repr(value) if isinstance(value, float) else value)
        if not amount.is_finite():
            raise InvalidOperation
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -scale:
            exact = amount.quantize(Decimal(1).scaleb(-scale))
            if exact != amount:
                raise InvalidEvent(
                    "invalid_price", f"{value!r} has more than {scale} decimal places"
                )
            amount = exact
    except InvalidOperation as exc:
        raise InvalidEvent("invalid_price", f"{value!r} is not a usable decimal number") from exc
    return amount


def _convert(name: str, avro_type: Any, value: Any, named: Mapping[str, Any]) -> Any:
    """Check and convert one JSON value against the field's (parsed) Avro type."""
    if isinstance(avro_type, list):
        return _convert_union(name, avro_type, value, named)
    if isinstance(avro_type, str) and avro_type in named:
        avro_type = named[avro_type]
    if isinstance(avro_type, dict):
        return _convert_complex(name, avro_type, value, named)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if avro_type in ("int", "long") and is_int:
        if value in (_INT32 if avro_type == "int" else _INT64):
            return value
        raise InvalidEvent("wrong_type", f"{name}={value} does not fit an Avro {avro_type}")
    if avro_type in ("float", "double") and (is_int or isinstance(value, float)):
        return float(value)
    if isinstance(value, _JSON_TYPES.get(avro_type, ())):
        return value
    raise InvalidEvent("wrong_type", f"{name} must be {avro_type}, got {value!r}")


def _convert_union(name: str, branches: list[Any], value: Any, named: Mapping[str, Any]) -> Any:
    for branch in branches:
        try:
            return _convert(name, branch, value, named)
        except InvalidEvent:
            continue
    raise InvalidEvent("wrong_type", f"{name} must be one of {branches}, got {value!r}")


def _convert_complex(name: str, avro_type: Schema, value: Any, named: Mapping[str, Any]) -> Any:
    logical = avro_type.get("logicalType")
    if logical == "timestamp-millis":
        return to_millis(value)
    if logical == "decimal":
        return to_decimal(value, int(avro_type.get("scale", 0)))
    base = avro_type.get("type")
    if base == "enum":
        symbols = {symbol.upper(): symbol for symbol in avro_type["symbols"]}
        if isinstance(value, str) and value.upper() in symbols:
            return symbols[value.upper()]
        raise InvalidEvent("invalid_enum", f"{name} must be one of {list(symbols)}, got {value!r}")
    if base in _PRIMITIVES:
        return _convert(name, base, value, named)
    return value  # records, arrays, maps, fixed: left for the encoder to check
