"""The serving value: one msgpack array per (entity, entity id, group) in the feature store.

``[1, group_fingerprint, event_ts_ms, computed_ts_ms, valid_until_ms, [v1, v2, ...]]``

- ``1``: the layout's version; anything else reads as missing.
- ``group_fingerprint``: ``Catalogue.fingerprints[group]``, a short hash of the group's feature
  definitions: a value written under another definition reads as missing.
- ``event_ts_ms``: the newest event time the values reflect; ``computed_ts_ms``: when computed.
- ``valid_until_ms``: until when the values stay exact as time passes (the next tile expiry), or
  None when only a new event can change them.
- the values, in the group's declared feature order, ``last_n`` features left out (the reader
  fills them from the interaction store).

The features worker encodes, the reader decodes; both only through this module.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import msgpack

from features.errors import FeatureError
from features.packing import packer

log = logging.getLogger("interstore.features")

SERVING_VERSION = 1


class ServingValueError(FeatureError):
    """Bytes that are not a serving value of a known layout."""


class ServingValue(NamedTuple):
    fingerprint: str
    event_ts_ms: int
    computed_ts_ms: int
    valid_until_ms: int | None
    values: Sequence[Any]


def encode_serving(value: ServingValue) -> bytes:
    """Values may be None, bool, int, float, str or lists of those (msgpack's types)."""
    return encode_serving_fields(*value)


def encode_serving_fields(
    fingerprint: str,
    event_ts_ms: int,
    computed_ts_ms: int,
    valid_until_ms: int | None,
    values: Sequence[Any],
) -> bytes:
    """``encode_serving`` of a ``ServingValue``'s fields (none built: the worker encodes a value
    per group of every entity it writes)."""
    packed: bytes = packer().pack(
        [SERVING_VERSION, fingerprint, event_ts_ms, computed_ts_ms, valid_until_ms, values]
    )
    return packed


def decode_serving(raw: bytes) -> ServingValue:
    """ServingValueError for bytes of another layout or version."""
    try:
        decoded = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    except (ValueError, msgpack.UnpackException) as exc:
        raise ServingValueError(f"not msgpack: {exc}") from exc
    if not isinstance(decoded, list) or len(decoded) != 6 or decoded[0] != SERVING_VERSION:
        raise ServingValueError("not a version-1 serving value")
    _, fingerprint, event_ts, computed_ts, valid_until, values = decoded
    if not (
        isinstance(fingerprint, str)
        and isinstance(event_ts, int)
        and isinstance(computed_ts, int)
        and (valid_until is None or isinstance(valid_until, int))
        and isinstance(values, list)
    ):
        raise ServingValueError("a serving value's header has the wrong types")
    return ServingValue(fingerprint, event_ts, computed_ts, valid_until, values)


_unpack = msgpack.unpackb


def _lenient(raw: bytes | None) -> Any:
    try:
        return None if raw is None else _unpack(raw)
    except (ValueError, msgpack.UnpackException):
        return _UNREADABLE


_UNREADABLE = object()


MAX_DECODED = 1 << 15
"""Serving values remembered decoded, per (fingerprint, width); the table is emptied when full."""
MAX_DECODED_LAYOUTS = 64
_MISS = object()
_decoded: dict[tuple[str, int], dict[bytes | None, tuple[Any, ...] | None]] = {}


def served_values(
    raws: Sequence[bytes | None], fingerprint: str, width: int
) -> tuple[list[tuple[Any, ...] | None], int]:
    """Many serving values of one group at once, without a ``ServingValue`` per value: each
    one's values, or None where there is none, it was written under other definitions (another
    ``fingerprint``) or it is not a version-1 value of ``width`` values; and how many were
    unreadable (not msgpack, another layout or width: worth a log line, unlike a missing one).

    The answers are remembered by their bytes (per fingerprint and width): the same values are
    read request after request (a hot product's, a user's), and a known one costs one dict
    lookup in C instead of a msgpack decode and its checks. Values are tuples: shared by the
    callers, and of numbers and strings, so the garbage collector stops tracking them."""
    known = _decoded.get((fingerprint, width))
    if known is None or len(known) >= MAX_DECODED:
        if len(_decoded) >= MAX_DECODED_LAYOUTS:
            _decoded.clear()
        known = _decoded[(fingerprint, width)] = {None: None}
    values: list[Any] = list(map(known.get, raws, itertools.repeat(_MISS)))
    if _MISS not in values:
        return values, 0
    new = [raw for raw, found in zip(raws, values, strict=True) if found is _MISS]
    found, unreadable = _check_all(new, fingerprint, width)
    readable = dict(zip(new, found, strict=True))
    for raw in _unreadable(new, found, fingerprint) if unreadable else ():
        readable.pop(raw, None)  # logged at every read, never remembered
    known.update(readable)
    fresh = iter(found)
    return [next(fresh) if value is _MISS else value for value in values], unreadable


def _check_all(
    raws: Sequence[bytes | None], fingerprint: str, width: int
) -> tuple[list[tuple[Any, ...] | None], int]:
    """``served_values`` of values never seen: decoded and checked."""
    try:
        decoded = [None if raw is None else _unpack(raw) for raw in raws]
    except (ValueError, msgpack.UnpackException):
        decoded = [_lenient(raw) for raw in raws]
    values = [
        tuple(found[5])
        if type(found) is list
        and len(found) == 6
        and found[0] == SERVING_VERSION
        and found[1] == fingerprint
        and type(found[5]) is list
        and len(found[5]) == width
        else None
        for found in decoded
    ]
    unreadable = 0
    if values.count(None) > decoded.count(None):  # something decoded was set aside: why?
        unreadable = len(_unreadable(raws, values, fingerprint, decoded))
    return values, unreadable


def _unreadable(
    raws: Sequence[bytes | None], values: Sequence[Any], fingerprint: str,
    decoded: Sequence[Any] | None = None,
) -> list[bytes | None]:  # fmt: skip
    """The raws set aside for another reason than other definitions (another fingerprint)."""
    if decoded is None:
        decoded = [_lenient(raw) for raw in raws]
    return [
        raw
        for raw, found, kept in zip(raws, decoded, values, strict=True)
        if found is not None
        and kept is None
        and not (type(found) is list and len(found) == 6 and found[1] != fingerprint)
    ]


def served_with_status(
    checks: Sequence[tuple[str, int, int, str]], raw: Sequence[bytes | None], now_ms: int
) -> list[tuple[Sequence[Any], Literal["present", "stale"]] | None]:
    """``FeatureReader.get``'s view of serving values read group after group per id: each
    value's values and status (``stale`` once ``now_ms`` is past its ``valid_until`` plus the
    group's max age), or None where it reads as missing (none, unreadable, other definitions,
    the wrong width). ``checks``: per group, (fingerprint, width, max age in ms, name)."""
    out: list[tuple[Sequence[Any], Literal["present", "stale"]] | None] = []
    for position, data in enumerate(raw):
        if data is None:
            out.append(None)
            continue
        fingerprint, width, max_age_ms, name = checks[position % len(checks)]
        try:
            value = decode_serving(data)
        except ServingValueError as exc:
            log.warning("unreadable serving value of group %s: %s", name, exc)
            out.append(None)
            continue
        if value.fingerprint != fingerprint:
            out.append(None)  # written under other definitions
        elif len(value.values) != width:
            log.warning("serving value of group %s has the wrong width", name)
            out.append(None)
        else:
            valid_until = value.valid_until_ms
            late = valid_until is not None and now_ms > valid_until + max_age_ms
            out.append((value.values, "stale" if late else "present"))
    return out
