"""``features rebuild --groups``: which entities a set of groups rebuilds, unknown names refused
before anything is opened, and carried entities getting only the events past their fences."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from features.aggregate import FeatureEvent
from features.catalogue import load_catalogue
from features.updater import EntityBatch
from ops.features_rebuild_groups import (
    CarriedEntities,
    ChangedGroups,
    UnknownGroups,
    check_carried,
    rebuilt_entities,
    recomputed_groups,
)
from store.feature_state import StateKey

DEFINITIONS = Path(__file__).parents[3] / "features" / "definitions.yaml"


def test_named_groups_rebuild_their_entities_and_those_entities_other_groups() -> None:
    catalogue = load_catalogue(DEFINITIONS)
    entities = rebuilt_entities(catalogue, ["product_stats"])
    assert entities == {"product"}
    assert recomputed_groups(catalogue, entities) == ["product_attributes", "product_stats"]


@pytest.mark.parametrize("names", [["nope"], ["user_activity", "nope"], []])
def test_unknown_or_no_group_names_are_refused_with_the_known_ones(names: list[str]) -> None:
    with pytest.raises(UnknownGroups, match="category_stats, product_attributes"):
        rebuilt_entities(load_catalogue(DEFINITIONS), names)


def test_the_command_refuses_an_unknown_group_before_opening_any_store() -> None:
    env = {
        **os.environ,
        "INTERSTORE_FEATURES_DEFINITIONS_PATH": str(DEFINITIONS),
        "INTERSTORE_CASSANDRA_PORT": "1",  # nothing listens: an open would fail differently
        "INTERSTORE_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "interstore.cli", "features", "rebuild", "--groups", "u,nope"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "unknown feature group(s) nope, u" in " ".join(done.stderr.split()), done.stderr


def event(partition: int, offset: int) -> FeatureEvent:
    return FeatureEvent("click", 0, {}, partition, offset)


def test_carried_entities_get_only_the_events_past_their_copied_fences() -> None:
    carried = CarriedEntities({"product"})
    user, other_user, product = (
        StateKey("user", ("u1",)), StateKey("user", ("u2",)), StateKey("product", ("p1",)),
    )  # fmt: skip
    carried.fences[user] = {0: 10, 1: 5}
    batches = [
        EntityBatch("u0", user, [event(0, 9), event(0, 10), event(0, 11), event(2, 0)]),
        EntityBatch("u1", user, [event(1, 5)]),  # only already applied ones: left out
        EntityBatch("u1", other_user, [event(1, 1)]),  # not in the copied generation: all
        EntityBatch("e0", product, [event(0, 3)]),  # rebuilt: all
    ]
    kept = carried.only_new(batches)
    assert [(b.key, [(e.partition, e.offset) for e in b.events]) for b in kept] == [
        (user, [(0, 11), (2, 0)]),
        (other_user, [(1, 1)]),
        (product, [(0, 3)]),
    ]
    assert carried.counts.skipped_events == 3


def test_recomputed_entities_get_only_the_events_from_the_from_offsets_on() -> None:
    carried = CarriedEntities({"product"}, starts={0: 5, 1: 0})
    user, product, other = (
        StateKey("user", ("u1",)), StateKey("product", ("p1",)), StateKey("product", ("p2",)),
    )  # fmt: skip
    carried.fences[user] = {0: 2}
    batches = [
        EntityBatch("u0", user, [event(0, 1), event(0, 3)]),  # carried: past its fence
        EntityBatch("e0", product, [event(0, 4), event(0, 5), event(1, 0), event(2, 7)]),
        EntityBatch("e1", other, [event(0, 4)]),  # all before --from: left out
    ]
    kept = carried.only_new(batches)
    assert [(b.key, [(e.partition, e.offset) for e in b.events]) for b in kept] == [
        (user, [(0, 3)]),
        (product, [(0, 5), (1, 0), (2, 7)]),  # a partition without a start: from its first
    ]
    assert (carried.counts.skipped_events, carried.counts.before_from) == (1, 2)


def test_a_changed_group_that_would_be_carried_over_is_refused_naming_it() -> None:
    catalogue = load_catalogue(DEFINITIONS)
    recorded = dict(catalogue.fingerprints)
    recomputed = recomputed_groups(catalogue, rebuilt_entities(catalogue, ["product_stats"]))
    assert check_carried(catalogue, recomputed, recorded) is True
    assert check_carried(catalogue, recomputed, None) is False  # none recorded: cannot tell
    recorded["product_attributes"] = "older"  # recomputed with product_stats: fine
    assert check_carried(catalogue, recomputed, recorded) is True
    recorded["user_activity"] = "older"
    del recorded["category_stats"]  # new since the current generation
    with pytest.raises(ChangedGroups) as refused:
        check_carried(catalogue, recomputed, recorded)
    message = str(refused.value)
    assert "feature group(s) category_stats, user_activity in" in message
    assert "add them to --groups, or run a full rebuild" in message
