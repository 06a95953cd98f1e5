"""The one definition of the event kinds and their fields, derived from the Avro catalogue.

Every event has ``EVENT_FIELDS`` (``event_id``, ``user_id``, ``ts``). An *interaction* kind is
one whose schema also has ``INTERACTION_FIELDS`` (``product_id``, ``category_id``): click, order
and wishlist; the stores keep only those. The other kinds (``app_open``) are *session* kinds.
``KIND_FIELDS`` are each interaction kind's own fields, in schema order: what the cold table's
columns, the hot tier's members and the API's answers carry beyond the common ones (a test
checks that the CQL and the API models agree with this module).
"""

from __future__ import annotations

from schemas.catalogue import default_catalogue

EVENT_FIELDS = ("event_id", "user_id", "ts")
INTERACTION_FIELDS = ("product_id", "category_id")


def _fields(kind: str) -> tuple[str, ...]:
    return tuple(field["name"] for field in default_catalogue().reader(kind).schema["fields"])


EVENT_KINDS: tuple[str, ...] = default_catalogue().kinds
"""Every kind with a schema, sorted: app_open, click, order, wishlist."""
INTERACTION_KINDS: tuple[str, ...] = tuple(
    kind for kind in EVENT_KINDS if set(INTERACTION_FIELDS) <= set(_fields(kind))
)
"""The kinds the stores keep, sorted: click, order, wishlist."""
SESSION_KINDS: tuple[str, ...] = tuple(k for k in EVENT_KINDS if k not in INTERACTION_KINDS)
"""Kinds that drive sessions and are not stored: app_open."""
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name in _fields(kind) if name not in EVENT_FIELDS + INTERACTION_FIELDS)
    for kind in INTERACTION_KINDS
}
"""Each interaction kind's own fields, in schema order (click: surface, position; ...)."""
