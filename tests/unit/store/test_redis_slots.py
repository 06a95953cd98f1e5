"""Slot groups: every key of a group hashes to one Redis Cluster slot, in the group's range."""

from __future__ import annotations

import itertools

from redis.crc import key_slot

from deploy.redis_cluster import slot_ranges
from store.feature_state import StateKey, state_key
from store.feature_store import serving_key
from store.redis_hot_scripts import KeyLayout
from store.redis_slots import BRACED_TAGS, GROUP_TAGS, SLOT_GROUPS, SLOTS, slot_group, slot_tag

IDS = ["u1", "user-1", "a:b", "x}{y", "{tag}", "élève", "", *(f"user-{i}" for i in range(500))]


def test_each_groups_tag_lies_in_its_own_slot_range() -> None:
    width = SLOTS // SLOT_GROUPS
    assert len(set(GROUP_TAGS)) == SLOT_GROUPS
    for group, tag in enumerate(GROUP_TAGS):
        assert group * width <= key_slot(tag.encode()) < (group + 1) * width
        assert "{" not in tag
        assert "}" not in tag
        assert BRACED_TAGS[group] == f"{{{tag}}}"


def test_an_ids_group_is_its_own_slots_range() -> None:
    for id_ in IDS:
        raw_slot = key_slot(b"{" + id_.encode() + b"}") if id_ else None
        if raw_slot is not None and "{" not in id_ and "}" not in id_:
            assert slot_group(id_) == raw_slot * SLOT_GROUPS // SLOTS
        assert slot_tag(id_) == BRACED_TAGS[slot_group(id_)]


def test_hot_and_feature_keys_of_a_user_share_one_slot() -> None:
    layout = KeyLayout("is")
    for user in IDS:
        keys = [
            *layout.script_keys(user, 3),
            layout.sentinel(3, slot_group(user)),
            serving_key("isf", "user", (user,), "acts"),
            serving_key("isf", "user_category", (user, "c:9"), "aff"),
            state_key("isf", StateKey("user", (user,))),
        ]
        assert len({key_slot(key.encode()) for key in keys}) == 1, user


def test_users_spread_over_every_group() -> None:
    groups = [slot_group(f"user-{i}") for i in range(16_000)]
    counts = [groups.count(g) for g in range(SLOT_GROUPS)]
    assert min(counts) > 0.8 * 1000
    assert max(counts) < 1.2 * 1000


def test_the_local_clusters_slot_ranges_cover_every_slot_once() -> None:
    for nodes in (1, 3, 5):
        ranges = slot_ranges(nodes)
        assert ranges[0][0] == 0
        assert ranges[-1][1] == SLOTS - 1
        assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
