"""A bound on a live session's dirty set, by count and by (estimated) bytes.

The hot tier keeps every unflushed interaction of a session (the dirty set is never trimmed, so
nothing is lost), and Redis runs with ``noeviction``: one very busy session could fill it. The
router counts what it appends per user since the user's hydration or last early flush; a user
past either bound is flushed early (written to the cold tier and marked clean, still live).

The counts live in the worker's memory: after a restart, or after the tracker flushed a session
on its own, they start again from zero (a session can then hold up to twice the bound before its
early flush): a bound on growth, not an exact size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from store.hot import HotItem
from store.interactions import Interaction

ITEM_OVERHEAD_BYTES = 96
"""What a dirty member costs beyond its strings (encoding, score, set overhead): an estimate."""


def estimated_bytes(item: Interaction) -> int:
    strings = (item.event_id, item.product_id, item.category_id, item.surface, item.order_id)
    return ITEM_OVERHEAD_BYTES + sum(len(text) for text in strings if text)


@dataclass(slots=True)
class DirtyBound:
    max_items: int
    max_bytes: int
    _sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    """User -> (items, bytes) appended since its hydration or last early flush."""

    def appended(self, items: Sequence[HotItem]) -> dict[int, list[str]]:
        """Count these appended items; partition -> users now past a bound (to flush early)."""
        over: dict[int, list[str]] = {}
        sizes = self._sizes
        for interaction, partition, _ in items:
            user = interaction.user_id
            count, size = sizes.get(user, (0, 0))
            count, size = count + 1, size + estimated_bytes(interaction)
            sizes[user] = (count, size)
            if count >= self.max_items or size >= self.max_bytes:
                users = over.setdefault(partition, [])
                if user not in users:
                    users.append(user)
        return over

    def reset(self, users: Iterable[str]) -> None:
        """After these users were flushed, hydrated, or found not live."""
        for user in users:
            self._sizes.pop(user, None)
