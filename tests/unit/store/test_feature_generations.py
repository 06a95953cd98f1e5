"""Generations of the feature store: key prefixes, the pointer's encoding and the readers'
cache of it."""

from __future__ import annotations

from fnmatch import fnmatchcase

from store.feature_generations import (
    Generation,
    GenerationPointer,
    changed_groups,
    control_key,
    decode_fingerprints,
    durable_shard,
    encode_fingerprints,
    generation_prefix,
)
from tests.support.memory_features import InMemoryFeatureStore

CONTROLS = ("current", "fingerprints", "pause", "next", "building")


def test_generation_zero_is_the_configured_prefix_and_others_never_overlap() -> None:
    assert generation_prefix("isf", 0) == "isf"
    assert generation_prefix("isf", 3) == "isf~g3"
    assert durable_shard("u2", 0) == "u2"
    assert durable_shard("u2", 3) == "u2~g3"
    controls = [control_key("isf", n) for n in CONTROLS]
    for generation in (0, 1, 3, 12):  # a generation is dropped by `<its prefix>:*`
        pattern = generation_prefix("isf", generation) + ":*"
        assert not any(fnmatchcase(key, pattern) for key in controls)
        others = [generation_prefix("isf", g) + ":fv:user:{u}:u" for g in (0, 1, 3, 12)]
        assert [fnmatchcase(k, pattern) for k in others].count(True) == 1


def test_control_keys_share_one_hash_slot() -> None:
    keys = [control_key("isf", name) for name in CONTROLS]
    tags = {key[key.index("{") : key.index("}") + 1] for key in keys}
    assert tags == {"{isf~gen}"}


def test_the_pointer_encodes_number_and_definitions() -> None:
    assert Generation.decode(None) == Generation(0, "")
    assert Generation.decode(Generation(7, "abc123").encode().encode()) == Generation(7, "abc123")


async def test_readers_cache_the_pointer_for_its_ttl() -> None:
    store = InMemoryFeatureStore()
    now = [100.0]
    pointer = GenerationPointer(store, "isf", ttl_s=1.0, monotonic=lambda: now[0])
    assert await pointer.current_prefix() == "isf"
    store.values[control_key("isf", "current")] = Generation(2, "d").encode().encode()
    now[0] += 0.5
    assert await pointer.current_prefix() == "isf"  # cached
    now[0] += 0.6
    assert await pointer.current_prefix() == "isf~g2"
    assert len(store.reads) == 2


def test_fingerprints_are_known_only_for_the_generation_they_were_recorded_with() -> None:
    raw = encode_fingerprints(4, {"u": "a1", "p": "b2"})
    assert decode_fingerprints(raw, 4) == {"u": "a1", "p": "b2"}
    assert decode_fingerprints(raw, 5) is None  # switched to by an older rebuild: unknown
    assert decode_fingerprints(None, 0) is None


def test_changed_groups_are_the_differing_and_the_new_ones_not_the_removed() -> None:
    recorded = {"u": "a1", "p": "b2", "gone": "c3"}
    assert changed_groups(recorded, {"u": "a1", "p": "b2"}) == []
    assert changed_groups(recorded, {"u": "a1", "p": "xx", "new": "d4"}) == ["new", "p"]
