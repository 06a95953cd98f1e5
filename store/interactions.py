"""The interaction: what the stores keep of a click, order or wishlist event (the kinds and
their fields are ``schemas.kinds``'s), and its shapes at the stores' edges: a ``ColdRow``
(hydration's plain values), JSON (the API's answer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from schemas.kinds import INTERACTION_KINDS as INTERACTION_KINDS  # re-exported for store users
from schemas.kinds import KIND_FIELDS as KIND_FIELDS

ColdRow = tuple[Any, ...]
"""One interaction of a known user and kind as plain values, in the order
(event_id, product_id, category_id, ts_ms, *KIND_FIELDS[kind]): what hydration moves from the
cold tier to the hot one without building an ``Interaction`` per row."""


@dataclass(frozen=True, slots=True)
class Interaction:
    """One stored interaction. Kind fields not of this kind stay None (and are never written)."""

    kind: str
    event_id: str
    user_id: str
    product_id: str
    category_id: str
    ts_ms: int
    surface: str | None = None
    position: int | None = None
    order_id: str | None = None
    quantity: int | None = None
    price: Decimal | None = None
    currency: str | None = None
    action: str | None = None

    @classmethod
    def from_record(cls, kind: str, record: Mapping[str, Any]) -> Interaction:
        """From a decoded (and validated) event record of an interaction kind."""
        fields = {name: record[name] for name in KIND_FIELDS[kind]}
        return cls(
            kind=kind,
            event_id=record["event_id"],
            user_id=record["user_id"],
            product_id=record["product_id"],
            category_id=record["category_id"],
            ts_ms=int(record["ts"]),
            **fields,
        )

    @classmethod
    def from_row(cls, kind: str, user_id: str, row: Sequence[Any]) -> Interaction:
        """From a ``ColdRow``: (event_id, product_id, category_id, ts_ms, *kind fields)."""
        event_id, product_id, category_id, ts_ms, *values = row
        fields = dict(zip(KIND_FIELDS[kind], values, strict=True))
        return cls(kind, event_id, user_id, product_id, category_id, ts_ms, **fields)

    def row(self) -> ColdRow:
        """The ``ColdRow`` of this interaction (``from_row``'s inverse)."""
        common = (self.event_id, self.product_id, self.category_id, self.ts_ms)
        return (*common, *(getattr(self, name) for name in KIND_FIELDS[self.kind]))

    def kind_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in KIND_FIELDS[self.kind]}

    def to_json(self) -> dict[str, Any]:
        """The API shape: common fields, ``ts`` in epoch milliseconds, then this kind's fields
        (a price as its decimal string). On the read API's hot path: no ``asdict``."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "event_id": self.event_id,
            "product_id": self.product_id,
            "category_id": self.category_id,
            "ts": self.ts_ms,
        }
        for name in KIND_FIELDS[self.kind]:
            value = getattr(self, name)
            out[name] = str(value) if isinstance(value, Decimal) else value
        return out
