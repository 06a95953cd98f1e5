"""The hot tier's member encoding: one interaction as deterministic, compact bytes.

``event_id``, a NUL byte, then an orjson array ``[kind, product_id, category_id, ts_ms, *kind
fields]`` (price as its decimal string, the user id left out: the key names it). The same
interaction always gives the same bytes, so adding it twice to a sorted set keeps one member.
With a score of ``-ts_ms``, members of equal score sort by their bytes, i.e. by event id (UTF-8
byte order is code point order): ascending ranks are exactly ``newest_first_key`` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from store.interactions import INTERACTION_KINDS, KIND_FIELDS, ColdRow, Interaction

SEPARATOR = b"\x00"
"""orjson escapes control characters, so the payload never holds a raw NUL: decoding splits at
the last one and an event id holding NUL still decodes."""


def check_interaction(item: Interaction, user_id: str | None = None) -> None:
    """ValueError unless ``item`` can be kept hot (a known kind; the expected user)."""
    if item.kind not in INTERACTION_KINDS:
        raise ValueError(f"event {item.event_id!r} has kind {item.kind!r}, not an interaction")
    if user_id is not None and item.user_id != user_id:
        raise ValueError(f"event {item.event_id!r} is of user {item.user_id!r}, not {user_id!r}")


def encode(item: Interaction) -> bytes:
    return encode_row(item.kind, item.row())


def encode_row(kind: str, row: ColdRow) -> bytes:
    """``encode`` of the interaction this ``ColdRow`` of ``kind`` holds (the same bytes)."""
    event_id: str = row[0]
    return event_id.encode() + SEPARATOR + orjson.dumps([kind, *row[1:]], default=_decimal_text)


def _decimal_text(value: Any) -> str:
    """orjson calls this for what it cannot serialize itself: only prices (``Decimal``)."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a hot-tier member")


def decode(user_id: str, member: bytes) -> Interaction:
    event_id, _, payload = member.rpartition(SEPARATOR)
    kind, product_id, category_id, ts_ms, *values = orjson.loads(payload)
    kind_fields = dict(zip(KIND_FIELDS[kind], values, strict=True))
    if kind_fields.get("price") is not None:
        kind_fields["price"] = Decimal(kind_fields["price"])
    return Interaction(
        kind, event_id.decode(), user_id, product_id, category_id, ts_ms, **kind_fields
    )


JSON_KEYS = {kind: ("product_id", "category_id", "ts", *KIND_FIELDS[kind]) for kind in KIND_FIELDS}
"""The read API's names of a member's payload fields after the kind, per kind."""


def decode_json(member: bytes) -> dict[str, Any]:
    """``decode(...).to_json()`` (the same items, in the same order) without an Interaction in
    between, for the read API's hot path: the payload already holds the price as its decimal
    string."""
    event_id, _, payload = member.rpartition(SEPARATOR)
    kind, *values = orjson.loads(payload)
    out = {"kind": kind, "event_id": event_id.decode()}
    out.update(zip(JSON_KEYS[kind], values, strict=True))
    return out


def decode_json_many(members: Sequence[bytes]) -> list[dict[str, Any]]:
    """``decode_json`` of each member, with one ``orjson.loads`` for all their payloads (about
    half the CPU of one call per member: the read API's hot path)."""
    if not members:
        return []
    event_ids, payloads = [], []
    for member in members:
        event_id, _, payload = member.rpartition(SEPARATOR)
        event_ids.append(event_id)
        payloads.append(payload)
    out = []
    for event_id, (kind, *values) in zip(
        event_ids, orjson.loads(b"[" + b",".join(payloads) + b"]"), strict=True
    ):
        item = {"kind": kind, "event_id": event_id.decode()}
        item.update(zip(JSON_KEYS[kind], values, strict=True))
        out.append(item)
    return out


class RememberedJson:
    """``decode_json_many`` that remembers each member's decoding by its bytes, at most
    ``max_members`` (the oldest forgotten first). A member's bytes determine its decoding, and a
    live user's members are read again by every request of the session: the read API decodes a
    member once, not once per read. The dicts are shared between answers: callers must not
    change them (the API only serializes them). They hold only strings and numbers, so the
    garbage collector does not track them."""

    def __init__(self, max_members: int = 32_768) -> None:
        if max_members < 1:
            raise ValueError("max_members must be >= 1")
        self.max_members = max_members
        self._known: dict[bytes, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def decode_many(self, members: Sequence[bytes]) -> list[dict[str, Any]]:
        known = self._known
        found = [known.get(member) for member in members]
        if None not in found:
            return found  # type: ignore[return-value]  # no None left
        misses = [member for member, item in zip(members, found, strict=True) if item is None]
        decoded = iter(decode_json_many(misses))
        out: list[dict[str, Any]] = []
        for member, item in zip(members, found, strict=True):
            if item is None:
                item = next(decoded)
                if len(known) >= self.max_members:
                    del known[next(iter(known))]  # the oldest remembered
                known[member] = item
            out.append(item)
        return out
