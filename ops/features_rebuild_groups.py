"""``interstore features rebuild --groups G1,G2``: recompute only the named groups' entities.

An entity's groups share one state (its aggregates and one set of fences), so the unit a
rebuild can recompute is the entity: the named groups' entities are rebuilt from the topic as
in a full rebuild (with them, any other group of those entities); every other entity is carried
over from the current generation unchanged:

1. Before the build, each carried entity's state is copied from the current generation's
   durable copy into the new generation's (same version and blob), then the new generation's
   working copy is loaded from it (``FeatureUpdater.ensure_intact``: serving values computed
   from the copied states, refresh indexes, sentinels).
2. During the build and the catch-up (which read the whole topic), a carried entity gets only
   the events past its copied fences (``CarriedEntities.only_new``): what the live worker
   applied to the current generation after the copy, or had not applied yet. The fences would
   skip the others anyway; leaving them out keeps the work to the named groups. The durable
   copy may lag the working one: the events it lacks are past its fences, so they are applied.
3. Fence, switch and drop as in a full rebuild: when readers switch, a carried entity holds the
   copied state plus every event below the rebuild's end offsets, exactly as the live worker
   would have it.

With ``--from TIME``, the recomputed entities get only the events at or after TIME's offsets
(the broker's offsets-for-times lookup per partition, as a plain ``--from``): their windows hold
nothing older. The topic is still read from the earliest offset, for the carried entities.

A carried entity keeps the aggregates it has, so every group whose definition differs from the
one the current generation was built with must be recomputed (``check_carried``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.errors import InterstoreError
from features.catalogue import Catalogue
from features.state import EntityState
from features.updater import EntityBatch, FeatureUpdater
from store.feature_generations import changed_groups
from store.feature_state import StateKey, StoredState


class UnknownGroups(InterstoreError):
    """``--groups`` named a group the definitions file does not have."""


class ChangedGroups(InterstoreError):
    """A group the rebuild would carry over has another definition than the current
    generation's: its carried aggregates would not match it."""


def rebuilt_entities(catalogue: Catalogue, groups: Sequence[str]) -> set[str]:
    """The entities whose states a rebuild of ``groups`` recomputes; raises ``UnknownGroups``
    (before anything is written) for a name the catalogue does not know."""
    unknown = sorted(set(groups) - set(catalogue.groups))
    if unknown or not groups:
        named = ", ".join(unknown) if unknown else "(none)"
        raise UnknownGroups(
            f"unknown feature group(s) {named}: the definitions file {catalogue.source} has "
            + ", ".join(sorted(catalogue.groups))
        )
    return {catalogue.groups[name].entity for name in groups}


def recomputed_groups(catalogue: Catalogue, entities: set[str]) -> list[str]:
    """Every group the rebuild recomputes: the named ones and their entities' other groups."""
    return sorted(name for name, g in catalogue.groups.items() if g.entity in entities)


def check_carried(
    catalogue: Catalogue, recomputed: Sequence[str], recorded: Mapping[str, str] | None
) -> bool:
    """Raises ``ChangedGroups`` if a group outside ``recomputed`` (or a new one) has another
    fingerprint than ``recorded`` (the current generation's); False if it cannot tell (no
    fingerprints recorded: the generation was never switched to by a rebuild that records them).
    """
    if recorded is None:
        return False
    changed = [g for g in changed_groups(recorded, catalogue.fingerprints) if g not in recomputed]
    if changed:
        raise ChangedGroups(
            f"the definition of feature group(s) {', '.join(changed)} in {catalogue.source} "
            "differs from the one the current generation was built with: add them to --groups, "
            "or run a full rebuild (without --groups)"
        )
    return True


@dataclass
class CarryCounts:
    states: int = 0
    """Entity states carried over from the current generation."""
    skipped_events: int = 0
    """Events of carried entities at or below their copied fences (not applied again)."""
    before_from: int = 0
    """Events of recomputed entities before ``--from``'s offsets (not applied)."""


class CarriedEntities:
    """The entities a ``--groups`` rebuild carries over, with their copied fences; ``starts``
    (``--from``): per partition, the first offset the recomputed entities get."""

    def __init__(self, rebuilt: set[str], starts: Mapping[int, int] | None = None) -> None:
        self.rebuilt = rebuilt
        self.starts = starts
        self.fences: dict[StateKey, dict[int, int]] = {}
        self.counts = CarryCounts()

    async def copy(
        self, source: FeatureUpdater, target: FeatureUpdater, shards: Sequence[str]
    ) -> None:
        """Copy every carried entity's durable state of ``source`` into ``target``, then load
        ``target``'s working copy of the shards from it."""
        for shard in shards:
            carried: list[tuple[str, StateKey, StoredState]] = []
            for key, stored in await source.durable.load(shard):
                if key.entity in self.rebuilt or key.entity not in target.plans:
                    continue
                fences = EntityState.decode(stored.blob).fences
                self.fences[key] = {p: f.offset for p, f in fences.items()}
                carried.append((shard, key, stored))
            await target.durable.save(carried)
            self.counts.states += len(carried)
        await target.ensure_intact(shards)

    def only_new(self, batches: Sequence[EntityBatch]) -> list[EntityBatch]:
        """The batches with, for carried entities, only the events past their copied fences;
        for recomputed ones, only those at or after ``starts``."""
        kept: list[EntityBatch] = []
        for batch in batches:
            if batch.key.entity in self.rebuilt:
                if self.starts is not None:
                    starts = self.starts
                    events = [e for e in batch.events if e.offset >= starts.get(e.partition, 0)]
                    self.counts.before_from += len(batch.events) - len(events)
                    batch = EntityBatch(batch.shard, batch.key, events)
                if batch.events:
                    kept.append(batch)
                continue
            fences = self.fences.get(batch.key)
            if fences is None:  # an entity the current generation does not have yet
                kept.append(batch)
                continue
            events = [e for e in batch.events if e.offset > fences.get(e.partition, -1)]
            self.counts.skipped_events += len(batch.events) - len(events)
            if events:
                kept.append(EntityBatch(batch.shard, batch.key, events))
        return kept
