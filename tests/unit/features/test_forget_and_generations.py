"""The pure parts of rebuilds, replays and forgetting: a replay routes events to the same
entities, shards and order as the live worker; forgotten users' events skip their own entities
only; erasing leaves a versioned empty state and no values; a gated updater writes the
generation the gate names."""

from __future__ import annotations

import time
from collections.abc import Mapping

from core.settings import FeatureSettings
from features.catalogue import load_catalogue
from features.forgetting import erase_user
from features.generation_gate import GatedUpdater
from features.plan import plans_from_catalogue
from features.routing import entity_batches, entity_shard, feature_event, repartition_of
from features.state import EntityState
from features.updater import ERASED, FeatureUpdater
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from store.feature_generations import Generation, generation_prefix
from store.feature_state import StateKey
from store.tombstones import TombstoneCache
from streams.features.records import decode_repartitioned, route
from streams.messages import RawMessage
from tests.support.memory_feature_state import MemoryDurable, MemoryWorking

NOW = int(time.time() * 1000)
PARTITIONS = 4
CATALOGUE = load_catalogue(FeatureSettings().definitions_path)
PLANS = plans_from_catalogue(CATALOGUE)


def messages(count: int) -> list[RawMessage]:
    codec = default_codec()
    offsets = [0] * PARTITIONS
    out = []
    for kind, record in generate_events(20, count, 7, NOW - 3_600_000):
        p = repartition_of(record["user_id"], PARTITIONS)
        out.append(RawMessage("ev", p, offsets[p], None, codec.encode(kind, record)))
        offsets[p] += 1
    return out


def replay_events(msgs: list[RawMessage]) -> list:  # type: ignore[type-arg]
    codec = default_codec()
    found = []
    for m in msgs:
        event = codec.decode(m.value)
        routed = feature_event(event.kind, event.record, m.partition, m.offset)
        if routed is not None:
            found.append(routed)
    return found


def test_a_replay_routes_like_the_live_worker() -> None:
    msgs = messages(400)
    live = route(default_codec(), PLANS, msgs, NOW, PARTITIONS)
    incoming = [
        RawMessage("rp", p, i, k, v) for i, (p, k, v) in enumerate(live.outgoing)
    ]  # one offset per record is enough: only the partition names the shard
    live_batches = live.local + decode_repartitioned(incoming)
    replayed = entity_batches(PLANS, replay_events(msgs), PARTITIONS)
    as_map = {(b.shard, b.key): b.events for b in replayed}
    assert as_map == {(b.shard, b.key): b.events for b in live_batches}
    assert any(shard == entity_shard(0) for shard, _ in as_map)


class Forgotten:
    def __init__(self, forgotten: Mapping[str, int]) -> None:
        self.forgotten = dict(forgotten)

    async def all(self) -> dict[str, int]:
        return self.forgotten


def updater(forgotten: Mapping[str, int] | None = None) -> FeatureUpdater:
    cache = None
    if forgotten is not None:
        cache = TombstoneCache(Forgotten(forgotten), refresh_s=60)
    return FeatureUpdater(
        CATALOGUE, PLANS, MemoryWorking(), MemoryDurable(), key_prefix="t",
        lateness_ms=3_600_000, clock=lambda: NOW, tombstones=cache,
    )  # fmt: skip


async def test_forgotten_users_events_skip_only_their_own_entities() -> None:
    events = replay_events(messages(300))
    user = events[0].fields["user_id"]
    plain, forgetting = updater(), updater({user: NOW})
    await plain.apply(entity_batches(PLANS, events, PARTITIONS))
    report = await forgetting.apply(entity_batches(PLANS, events, PARTITIONS))
    assert report.forgotten > 0
    assert isinstance(plain.working, MemoryWorking)
    assert isinstance(forgetting.working, MemoryWorking)
    mine = {k for k in plain.working.states if k[1].ids[0] == user and k[1].entity in
            ("user", "user_category")}  # fmt: skip
    assert mine
    assert not mine & set(forgetting.working.states)
    others = {k: v.blob for k, v in plain.working.states.items() if k not in mine}
    assert {k: v.blob for k, v in forgetting.working.states.items()} == others


async def test_erasing_leaves_a_versioned_empty_state_and_no_values() -> None:
    events = replay_events(messages(300))
    user = events[0].fields["user_id"]
    live = updater()
    await live.apply(entity_batches(PLANS, events, PARTITIONS))
    working = live.working
    assert isinstance(working, MemoryWorking)
    before = {k: s.version for k, s in working.states.items() if k[1].ids[0] == user}
    values = [v for v in working.serving if f"}}:{user}:" in v]
    assert values
    shards = [f"u{p}" for p in range(PARTITIONS)]
    erased = await erase_user(live, user, shards, f"u{repartition_of(user, PARTITIONS)}")
    mine = {k: s for k, s in working.states.items() if k[1].ids[0] == user}
    user_keys = {k for k in mine if k[1].entity in ("user", "user_category")}
    assert erased == len(user_keys)
    for key in user_keys:
        assert mine[key].blob == ERASED
        assert mine[key].version == before[key] + 1
    assert not [v for v in working.serving if f"}}:{user}:" in v]
    durable = live.durable
    assert isinstance(durable, MemoryDurable)
    assert all(durable.rows[(f"u{repartition_of(user, PARTITIONS)}", k[1])].blob == ERASED
               for k in user_keys if k[1].entity == "user")  # fmt: skip
    assert live.serving(StateKey("user", (user,)), EntityState.decode(ERASED), NOW) == ({}, None)


class Gate:
    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.asked: list[str] = []
        self.fingerprints: dict[str, str] | None = None

    async def writable(self, definitions: str) -> int:
        self.asked.append(definitions)
        return self.generation

    async def recorded(self) -> tuple[Generation, dict[str, str] | None]:
        return Generation(self.generation, "d"), self.fingerprints


async def test_a_gated_updater_writes_the_generation_its_gate_names() -> None:
    gate = Gate(3)
    gated = GatedUpdater(FeatureUpdater(
        CATALOGUE, PLANS, MemoryWorking(), MemoryDurable(), key_prefix="t",
        lateness_ms=3_600_000, clock=lambda: NOW,
    ), gate)  # fmt: skip
    await gated.apply(entity_batches(PLANS, replay_events(messages(50)), PARTITIONS))
    written = await gated.current()
    working = written.working
    assert isinstance(working, MemoryWorking)
    assert {prefix for prefix, _ in working.states} == {generation_prefix("t", 3)}
    assert all(key.startswith("t~g3:fv:") for key in working.serving)
    assert set(gate.asked) == {gated.definitions}
    durable = written.durable
    assert isinstance(durable, MemoryDurable)
    assert all(partition.endswith("~g3") for partition, _ in durable.rows)


async def test_a_gated_updater_names_the_groups_the_current_generation_was_built_otherwise() -> (
    None
):
    gate = Gate(2)
    gated = GatedUpdater(FeatureUpdater(
        CATALOGUE, PLANS, MemoryWorking(), MemoryDurable(), key_prefix="t",
        lateness_ms=3_600_000, clock=lambda: NOW,
    ), gate)  # fmt: skip
    assert await gated.changed_groups() == (2, None)  # nothing recorded: cannot tell
    gate.fingerprints = dict(CATALOGUE.fingerprints)
    assert await gated.changed_groups() == (2, [])
    first, *others = sorted(CATALOGUE.fingerprints)
    gate.fingerprints = {**CATALOGUE.fingerprints, first: "other", "removed": "x"}
    del gate.fingerprints[others[0]]
    assert await gated.changed_groups() == (2, sorted([first, others[0]]))
