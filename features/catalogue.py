"""The catalogue: the definition file loaded, checked as a whole, and indexed for reads.

Every problem names the file, the line (from PyYAML's node marks) and the field, e.g.
``definitions.yaml:14: groups[0] (user_activity).features[2] (clicks_1h).window: window '90d'
is outside 5m..30d``. All problems of a file are reported at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from features.definitions import (
    FEATURE_TYPES,
    NUMERIC_FIELDS,
    AttributeFeature,
    DefinitionFile,
    DistinctFeature,
    EntityDefinition,
    FeatureDefinition,
    GroupDefinition,
    LastNFeature,
    RatioFeature,
    SumFeature,
    default_of,
    event_fields,
)
from features.errors import DefinitionError
from schemas.kinds import INTERACTION_KINDS

Loc = tuple[str | int, ...]
USER_KEYS = ("user_id",)
"""The interaction store is keyed by user: ``last_n`` features need exactly this entity key."""
RATIO_PARTS = ("count", "sum", "distinct")


@dataclass(frozen=True, slots=True)
class FeatureRef:
    """One feature, addressed as ``<group>.<feature>``."""

    name: str
    group: GroupDefinition
    definition: FeatureDefinition
    served_index: int | None
    """Its position in the group's serving value; None for ``last_n`` (read at read time)."""

    @property
    def default(self) -> Any:
        return default_of(self.definition)


class Catalogue:
    """Entities, groups and features of one definition file, checked and indexed."""

    def __init__(self, definitions: DefinitionFile, source: str = "<definitions>") -> None:
        """DefinitionError if the file's parts do not fit together (no line numbers here: use
        ``load_catalogue`` or ``parse_catalogue`` for those)."""
        if problems := list(_problems(definitions)):
            raise DefinitionError(source, [f"{_where(loc)}: {why}" for loc, why in problems])
        self.definitions = definitions
        self.source = source
        self.entities: dict[str, EntityDefinition] = dict(definitions.entities)
        self.groups: dict[str, GroupDefinition] = {g.name: g for g in definitions.groups}
        self.features: dict[str, FeatureRef] = {}
        self.fingerprints: dict[str, str] = {}
        self._served: dict[str, tuple[FeatureDefinition, ...]] = {}
        for group in definitions.groups:
            served = tuple(f for f in group.features if not isinstance(f, LastNFeature))
            self._served[group.name] = served
            for feature in group.features:
                index = served.index(feature) if feature in served else None
                name = f"{group.name}.{feature.name}"
                self.features[name] = FeatureRef(name, group, feature, index)
            self.fingerprints[group.name] = _fingerprint(self.entities[group.entity], served)

    def served(self, group: str) -> tuple[FeatureDefinition, ...]:
        """The group's features kept in its serving value, in declared order (no ``last_n``)."""
        return self._served[group]

    def groups_of(self, entity: str) -> list[GroupDefinition]:
        return [group for group in self.groups.values() if group.entity == entity]

    def describe(self) -> dict[str, Any]:
        """The catalogue a ranker author reads (``GET /v1/features``)."""
        return {
            "version": self.definitions.version,
            "entities": {name: {"keys": list(e.keys)} for name, e in self.entities.items()},
            "groups": [
                {
                    "name": group.name,
                    "entity": group.entity,
                    "max_age": group.max_age,
                    "features": [_describe(group, f) for f in group.features],
                }
                for group in self.groups.values()
            ],
        }


def _describe(group: GroupDefinition, feature: FeatureDefinition) -> dict[str, Any]:
    spec = feature.model_dump(mode="json", exclude={"name", "default"}, exclude_none=True)
    return {"name": f"{group.name}.{feature.name}", **spec, "default": default_of(feature)}


def _fingerprint(entity: EntityDefinition, served: Sequence[FeatureDefinition]) -> str:
    """A short hash of what a serving value's contents depend on (defaults left out)."""
    spec = [list(entity.keys), [f.model_dump(mode="json", exclude={"default"}) for f in served]]
    data = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(data, digest_size=6).hexdigest()


def load_catalogue(path: Path) -> Catalogue:
    """Read, validate and index a definition file; DefinitionError naming file, line, field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(str(path), [f"cannot read: {exc}"]) from exc
    return parse_catalogue(text, str(path))


def parse_catalogue(text: str, source: str = "<string>") -> Catalogue:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DefinitionError(source, [f"{source}{line}: not valid YAML: {exc}"]) from exc
    lines = dict(_lines(node, ())) if node is not None else {}
    try:
        definitions = DefinitionFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = _clean(error["loc"])
            problems.append(f"{source}:{_line(lines, loc)}: {_where(loc, data)}: {error['msg']}")
        raise DefinitionError(source, problems) from None
    problems_found = list(_problems(definitions))
    if problems_found:
        raise DefinitionError(
            source,
            [
                f"{source}:{_line(lines, loc)}: {_where(loc, data)}: {why}"
                for loc, why in problems_found
            ],
        )
    return Catalogue(definitions, source)


def _lines(node: yaml.Node, loc: Loc) -> Iterator[tuple[Loc, int]]:
    yield loc, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _lines(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _lines(item, (*loc, index))


def _clean(loc: Sequence[str | int]) -> Loc:
    """pydantic's location without the discriminator tags it inserts (``count``, ``sum``...)."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (part in FEATURE_TYPES and i > 0 and isinstance(loc[i - 1], int))
    )


def _line(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of the deepest part of ``loc`` the file has (a missing field: its parent's)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _where(loc: Loc, data: Any = None) -> str:
    """``groups[0] (user_activity).features[2] (clicks_1h).window``."""
    text, node = "", data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str):
                text += f" ({name})"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text or "(file)"


def _problems(file: DefinitionFile) -> Iterator[tuple[Loc, str]]:
    """Every way the parts of a (well-formed) file do not fit together."""
    known_fields = {field for kind in INTERACTION_KINDS for field in event_fields(kind)}
    for name, declared in file.entities.items():
        for i, key in enumerate(declared.keys):
            if key not in known_fields:
                yield ("entities", name, "keys", i), f"{key!r} is not an event field"
    seen_groups: set[str] = set()
    for g, group in enumerate(file.groups):
        if group.name in seen_groups:
            yield ("groups", g, "name"), f"duplicate group name {group.name!r}"
        seen_groups.add(group.name)
        entity = file.entities.get(group.entity)
        if entity is None:
            known = ", ".join(file.entities)
            yield ("groups", g, "entity"), f"unknown entity {group.entity!r}; known: {known}"
        by_name = {}
        for f, feature in enumerate(group.features):
            loc: Loc = ("groups", g, "features", f)
            if feature.name in by_name:
                yield (*loc, "name"), f"duplicate feature name {group.name}.{feature.name}"
            by_name[feature.name] = feature
            yield from _feature_problems(loc, feature, entity)
        for f, feature in enumerate(group.features):
            if isinstance(feature, RatioFeature):
                loc = ("groups", g, "features", f)
                yield from _ratio_problems(loc, feature, group, by_name)


def _feature_problems(
    loc: Loc, feature: FeatureDefinition, entity: EntityDefinition | None
) -> Iterator[tuple[Loc, str]]:
    if isinstance(feature, LastNFeature) and entity is not None and entity.keys != USER_KEYS:
        yield (*loc, "type"), "last_n is read from the interaction store: user entities only"
    fields: tuple[str, ...] = ()
    if isinstance(feature, DistinctFeature | LastNFeature | AttributeFeature):
        fields = (feature.field,)
    elif isinstance(feature, SumFeature):
        fields = feature.value_fields
        for field in fields:
            if field not in NUMERIC_FIELDS:
                known = ", ".join(sorted(NUMERIC_FIELDS))
                yield (*loc, "value"), f"{field!r} is not a numeric field ({known})"
    attribute = "value" if isinstance(feature, SumFeature) else "field"
    for kind in feature.event_kinds:
        for field in fields:
            if field not in event_fields(kind):
                yield (*loc, attribute), f"{kind} events have no field {field!r}"
    if (
        isinstance(feature, AttributeFeature)
        and entity is not None
        and feature.field in entity.keys
    ):
        yield (*loc, "field"), f"{feature.field!r} is the entity's own key"


def _ratio_problems(
    loc: Loc, ratio: RatioFeature, group: GroupDefinition, by_name: dict[str, FeatureDefinition]
) -> Iterator[tuple[Loc, str]]:
    for part in ("numerator", "denominator"):
        name: str = getattr(ratio, part)
        other = by_name.get(name)
        if "." in name:
            yield (
                (*loc, part),
                (
                    f"{name!r}: a ratio divides features of its own group; name one of "
                    f"{group.name!r} without a group prefix"
                ),
            )
        elif other is None:
            yield (*loc, part), f"{name!r} is not a feature of group {group.name!r}"
        elif other is ratio:
            yield (*loc, part), "a ratio cannot divide by or into itself"
        elif other.type not in RATIO_PARTS:
            yield (
                (*loc, part),
                f"{name!r} is a {other.type}; a ratio's parts are " + ", ".join(RATIO_PARTS),
            )


def definitions_digest(catalogue: Catalogue) -> str:
    """A short digest of every group's fingerprint: which definitions a generation holds."""
    text = "|".join(f"{n}={f}" for n, f in sorted(catalogue.fingerprints.items()))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
