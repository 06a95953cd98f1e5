"""The online feature store: serving values as bytes, by key (the codec is
``features.serving``'s). One function builds every key, so writer and reader agree.

Key: ``<prefix>:fv:<entity>:{<T>}:<first key>:<other keys...>:<group>``. The hash tag ``{<T>}``
is the first key's slot group (``store.redis_slots.slot_tag``), so a user's and its user x
category values share one Redis Cluster slot (the hot tier's slot of that user), and the
entities of one group share one slot: a read of many ids is one MGET per group, and a shard's
sentinel kept per group vanishes with the group's values when a cluster node restarts empty.
In ids, ``%``, ``:``, ``{`` and ``}`` are written as ``%25``, ``%3A``, ``%7B``, ``%7D``: no id
can open a hash tag or pass for two keys.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from store.redis_slots import slot_tag

_ESCAPES = str.maketrans({"%": "%25", ":": "%3A", "{": "%7B", "}": "%7D"})


def _escape(part: str) -> str:
    if "%" in part or ":" in part or "{" in part or "}" in part:
        return part.translate(_ESCAPES)
    return part


def serving_key(prefix: str, entity: str, ids: Sequence[str], group: str) -> str:
    """The key of one entity's value of one group; ``ids`` in the entity's key order."""
    return serving_keys(prefix, entity, [tuple(ids)], [group])[0]


def serving_keys(
    prefix: str, entity: str, ids: Sequence[str | tuple[str, ...]], groups: Sequence[str]
) -> list[str]:
    """``serving_key`` of every (id, group) pair, id by id, in ``groups`` order within an id.
    An id is its keys in the entity's key order: a tuple, or for a one-key entity the key
    itself (a ``str``: no tuple built nor hashed per id on the hot path).

    An id's keys are remembered per (prefix, entity, groups): the same ids (hot products, a
    user's categories) are read request after request, and the CRC16 and escapes of every key
    were a quarter of a 500-candidate matrix's CPU. Known ids cost one dict lookup, in C."""
    head = f"{prefix}:fv:{entity}:"
    tails = tuple(f":{group}" for group in groups)
    known = _KNOWN.get((head, tails))
    if known is None or len(known) >= MAX_KNOWN_IDS:
        if len(_KNOWN) >= MAX_KNOWN_LAYOUTS:
            _KNOWN.clear()
        known = _KNOWN[(head, tails)] = {}
    found: list[tuple[str, ...] | None] = list(map(known.get, ids))
    if None in found:
        for position, keys in enumerate(found):
            if keys is None:
                one = ids[position]
                parts = (one,) if isinstance(one, str) else one
                found[position] = known[one] = _id_keys(head, tails, parts)
    return list(itertools.chain.from_iterable(found))  # type: ignore[arg-type]


MAX_KNOWN_IDS = 1 << 17
"""Ids whose keys are remembered per (prefix, entity, groups); emptied when full."""
MAX_KNOWN_LAYOUTS = 256
_KNOWN: dict[tuple[str, tuple[str, ...]], dict[str | tuple[str, ...], tuple[str, ...]]] = {}


def _id_keys(head: str, tails: tuple[str, ...], parts: tuple[str, ...]) -> tuple[str, ...]:
    """One id's keys: ``head`` (``<prefix>:fv:<entity>:``), its tag and keys, a group each."""
    first = parts[0]
    entity_part = (
        head + slot_tag(first) + ":" + _escape(first) + "".join(f":{_escape(o)}" for o in parts[1:])
    )
    return tuple(entity_part + tail for tail in tails)


class FeatureStore(ABC):
    """Serving values by key. Failures raise ``store.errors.FeatureStoreUnavailable``
    (transient) or ``FeatureStoreError``, never an empty answer."""

    @abstractmethod
    async def read_values(self, keys: Sequence[str]) -> list[bytes | None]:
        """The value of each key (None where there is none), in ``keys`` order."""

    @abstractmethod
    async def write_values(self, values: Mapping[str, bytes]) -> None:
        """Set every key to its value (in as few round trips as the store allows)."""

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...
