"""Redis memory of a run's keys (``MEMORY USAGE``, every element sampled), grouped by the key's
shape: ids, hash tags and partition numbers replaced, so the groups hold whatever the key layout
is (one node or Redis Cluster's slot-tagged keys)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

IDS = (
    (re.compile(r"user-\d+"), "<user>"),
    (re.compile(r"prod-\d+"), "<product>"),
    (re.compile(r"cat-\d+"), "<category>"),
    (re.compile(r"\{[^}<>]*\}"), "{}"),
    (re.compile(r"(?<=[:{])p\d+\b"), "p<N>"),
    (re.compile(r"(?<=:)\d+(?=:|$)"), "<n>"),
)
ENTITY_OF = (("<user>", "<category>"), ("<user>",), ("<product>",), ("<category>",))
"""Which entity a key belongs to, from the ids in its shape (the pair first)."""
BATCH = 500


def key_shape(key: str, prefix: str) -> str:
    """``is:{user-0000001}:view:click`` -> ``{<user>}:view:click`` (prefix dropped)."""
    shape = key.removeprefix(prefix + ":")
    for pattern, placeholder in IDS:
        shape = pattern.sub(placeholder, shape)
    return shape


def entity_of(shape: str) -> str:
    """``user x category``, ``user``, ``product``, ``category``, or ``shared`` (indexes)."""
    for ids in ENTITY_OF:
        if all(part in shape for part in ids):
            return " x ".join(part.strip("<>") for part in ids)
    return "shared"


@dataclass(slots=True)
class Usage:
    """Keys and bytes per key shape; distinct ids per entity."""

    keys: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, key: str, prefix: str, size: int) -> None:
        shape = key_shape(key, prefix)
        self.keys[shape] += 1
        self.bytes[shape] += size
        found = [m.group(0) for pattern, _ in IDS[:3] for m in pattern.finditer(key)]
        self.ids[entity_of(shape)].add(":".join(found))

    @property
    def total(self) -> int:
        return sum(self.bytes.values())

    def by_entity(self) -> dict[str, dict[str, Any]]:
        """Per entity: its distinct ids, its keys' bytes, and bytes per id."""
        grouped: dict[str, int] = defaultdict(int)
        for shape, size in self.bytes.items():
            grouped[entity_of(shape)] += size
        return {
            entity: {
                "ids": len(self.ids[entity]),
                "bytes": size,
                "bytes_per_id": round(size / len(self.ids[entity])) if self.ids[entity] else 0,
            }
            for entity, size in sorted(grouped.items())
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "bytes": self.total,
            "by_shape": {
                shape: {"keys": self.keys[shape], "bytes": self.bytes[shape]}
                for shape in sorted(self.bytes, key=lambda s: -self.bytes[s])
            },
            "by_entity": self.by_entity(),
        }


def memory_usage(url: str, prefixes: Iterable[str]) -> dict[str, Usage]:
    """``MEMORY USAGE key SAMPLES 0`` of every key under each prefix (``prefix:*``)."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    usage: dict[str, Usage] = {}
    try:
        for prefix in prefixes:
            found = usage[prefix] = Usage()
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            for start in range(0, len(keys), BATCH):
                batch = keys[start : start + BATCH]
                pipe = client.pipeline(transaction=False)
                for key in batch:
                    pipe.memory_usage(key, samples=0)
                for key, size in zip(batch, pipe.execute(), strict=True):
                    found.add(key, prefix, int(size or 0))
    finally:
        client.close()
    return usage
