"""Slot groups: the hash tags that let every Redis script and multi-key read stay in one slot.

Redis Cluster maps a key to one of 16,384 slots by the CRC16 of its hash tag (the part between
the first ``{`` and the next ``}``); a script, a MULTI/EXEC or an MGET must keep to one slot.
The hot tier's scripts touch a user's keys *and* its partition's index keys, and the feature
store's durability sentinels must vanish with the data they vouch for when a node restarts
empty. Both need keys of many ids to share a slot on purpose, so ids are bucketed:

- An id belongs to one of ``SLOT_GROUPS`` groups: its own CRC16 slot's range (group g holds
  slots ``[g * 1024, (g + 1) * 1024)``).
- Every key of the id carries the group's *tag* (``GROUP_TAGS[g]``): a short fixed string whose
  slot lies in that range. All keys of a group are in one slot, so a per-partition (or
  per-shard) index or sentinel kept per group is in the slot of the users it indexes.
- Tags spread evenly over the slot space, so a cluster whose primaries own contiguous slot
  ranges (what ``redis-cli --cluster create`` makes) holds about ``SLOT_GROUPS / primaries``
  groups each.

On one node the groups cost nothing on the hot path (a user's script is the same) and a
per-partition read is ``SLOT_GROUPS`` keys instead of one, in one round trip. The number is part
of the key layout: changing it renames every key, which the hot tier and the feature store treat
as a lost Redis (their sentinels are gone: recovery replays, the feature states reload).
"""

from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Iterable, Sequence
from typing import TypeVar

SLOTS = 16384
SLOT_GROUPS = 16
_WIDTH = SLOTS // SLOT_GROUPS

T = TypeVar("T")


def _slot(data: bytes) -> int:
    return crc_hqx(data, 0) % SLOTS


def _group_tags() -> tuple[str, ...]:
    """For each group, the first decimal number (as text) whose slot is in the group's range:
    deterministic, so every process and version agrees."""
    tags: list[str | None] = [None] * SLOT_GROUPS
    missing, candidate = SLOT_GROUPS, 0
    while missing:
        text = str(candidate)
        group = _slot(text.encode()) // _WIDTH
        if tags[group] is None:
            tags[group] = text
            missing -= 1
        candidate += 1
    return tuple(tag for tag in tags if tag is not None)


GROUP_TAGS = _group_tags()
"""The tag of each group, without braces."""


def slot_group(id_: str) -> int:
    """The group of an id (a user id, a feature entity's first key): its slot's range."""
    return _slot(id_.encode("utf-8", "surrogatepass")) // _WIDTH


def slot_tag(id_: str) -> str:
    """``{<tag>}``: the hash tag every key of ``id_`` carries."""
    return BRACED_TAGS[slot_group(id_)]


BRACED_TAGS = tuple(f"{{{tag}}}" for tag in GROUP_TAGS)
"""``{<tag>}`` of each group, ready to put in a key."""


def by_group(ids: Iterable[T], group_of: Sequence[int]) -> dict[int, list[T]]:
    """``ids`` split by group (``group_of[i]`` is the i-th id's group), order kept per group."""
    groups: dict[int, list[T]] = {}
    for item, group in zip(ids, group_of, strict=True):
        groups.setdefault(group, []).append(item)
    return groups
