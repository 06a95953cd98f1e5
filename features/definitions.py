"""The feature definition file as pydantic models: the shape of each entry, checked field by field.

Checks that need the whole file (a group's entity exists, a ratio's parts are features of its
own group, names are unique, a field exists on the kinds it is read from) are the catalogue's
(``features.catalogue``). Event kinds and fields come from ``schemas.kinds``, the one list
(numeric fields from the ``Interaction``'s declared types).
"""

from __future__ import annotations

import re
import typing
from dataclasses import fields as dataclass_fields
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.kinds import EVENT_FIELDS, INTERACTION_FIELDS, INTERACTION_KINDS, KIND_FIELDS
from store.interactions import Interaction

MINUTE_MS = 60_000
UNIT_MS = {"m": MINUTE_MS, "h": 60 * MINUTE_MS, "d": 24 * 60 * MINUTE_MS}
MIN_WINDOW_MS = 5 * MINUTE_MS
MAX_WINDOW_MS = 30 * UNIT_MS["d"]
DEFAULT_MAX_AGE = "10m"
_DURATION = re.compile(r"([1-9][0-9]*)([mhd])")
_NAME = re.compile(r"[a-z][a-z0-9_]*")

COMMON_FIELDS = EVENT_FIELDS + INTERACTION_FIELDS
"""Fields every interaction event has (``ts``: epoch ms), as events and the read API name them."""
_HINTS = typing.get_type_hints(Interaction)


def _is_numeric(name: str) -> bool:
    hint = _HINTS[name]
    return any(t is hint or t in typing.get_args(hint) for t in (int, Decimal))


NUMERIC_FIELDS = frozenset(
    "ts" if f.name == "ts_ms" else f.name
    for f in dataclass_fields(Interaction)
    if _is_numeric(f.name)
)
"""Fields a ``sum`` may add up (from the Interaction's declared types)."""


def event_fields(kind: str) -> tuple[str, ...]:
    """The fields of an event of ``kind``."""
    return (*COMMON_FIELDS, *KIND_FIELDS[kind])


def duration_ms(text: str) -> int:
    """``5m``, ``1h``, ``7d`` -> milliseconds; ValueError otherwise."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h or 7d (units m, h, d)")
    return int(match[1]) * UNIT_MS[match[2]]


def _window(text: str) -> str:
    millis = duration_ms(text)
    if not MIN_WINDOW_MS <= millis <= MAX_WINDOW_MS:
        raise ValueError(f"window {text!r} is outside 5m..30d")
    return text


def _kinds(value: str | list[str]) -> tuple[str, ...]:
    kinds = [value] if isinstance(value, str) else value
    if not kinds:
        raise ValueError("name at least one kind")
    if unknown := [kind for kind in kinds if kind not in INTERACTION_KINDS]:
        raise ValueError(f"unknown kind {unknown[0]!r}; known: {', '.join(INTERACTION_KINDS)}")
    return tuple(dict.fromkeys(kinds))


Name = Annotated[str, Field(pattern=_NAME.pattern, max_length=64)]
Kinds = Annotated[tuple[str, ...], Field(description="One kind or a list of kinds.")]
Scalar = int | float | str | bool | None


class _Feature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name

    @field_validator("kind", "kinds", mode="before", check_fields=False)
    @classmethod
    def _known_kinds(cls, value: Any) -> tuple[str, ...]:
        return _kinds(value)

    @field_validator("window", check_fields=False)
    @classmethod
    def _window_in_bounds(cls, value: str) -> str:
        return _window(value)

    @property
    def window_ms(self) -> int | None:
        window: str | None = getattr(self, "window", None)
        return None if window is None else duration_ms(window)

    @property
    def event_kinds(self) -> tuple[str, ...]:
        """The kinds this feature reads (every kind when it names none)."""
        kinds: tuple[str, ...] | None = getattr(self, "kind", None) or getattr(self, "kinds", None)
        return kinds or INTERACTION_KINDS


class CountFeature(_Feature):
    """How many events of the kind(s) in the window."""

    type: Literal["count"]
    kind: Kinds
    window: str
    default: int | float = 0


class SumFeature(_Feature):
    """The sum of ``value`` (a numeric field, or fields multiplied: ``quantity*price``)."""

    type: Literal["sum"]
    kind: Kinds
    value: str
    window: str
    default: int | float = 0.0

    @property
    def value_fields(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.value.split("*"))


class RatioFeature(_Feature):
    """numerator / denominator (two features of the same group); ``zero_div`` for x/0, and the
    default when nothing was seen."""

    type: Literal["ratio"]
    numerator: str = Field(description="A feature of the same group, by its short name.")
    denominator: str = Field(description="A feature of the same group, by its short name.")
    zero_div: float = 0.0
    default: float | None = None

    @property
    def default_value(self) -> float:
        return self.zero_div if self.default is None else self.default


class LastTimeFeature(_Feature):
    """The time (epoch ms) of the newest event of the kind(s)."""

    type: Literal["last_time"]
    kind: Kinds
    default: int | None = None


class DistinctFeature(_Feature):
    """How many distinct values of ``field`` the kind(s) had in the window."""

    type: Literal["distinct"]
    kind: Kinds
    field: str
    window: str
    default: int = 0


class LastNFeature(_Feature):
    """The newest ``n`` values of ``field`` (newest first): user entity only, read from the
    interaction store at read time, never aggregated."""

    type: Literal["last_n"]
    kind: Kinds
    field: str
    n: int = Field(ge=1, le=1000)
    default: list[Scalar] = Field(default_factory=list)


class AttributeFeature(_Feature):
    """The latest value of ``field`` seen in events (of ``kinds``, default every kind)."""

    type: Literal["attribute"]
    field: str
    kinds: Kinds | None = None
    default: Scalar = None


FeatureDefinition = Annotated[
    CountFeature
    | SumFeature
    | RatioFeature
    | LastTimeFeature
    | DistinctFeature
    | LastNFeature
    | AttributeFeature,
    Field(discriminator="type"),
]
FEATURE_TYPES = ("count", "sum", "ratio", "last_time", "distinct", "last_n", "attribute")


def default_of(feature: FeatureDefinition) -> Any:
    """The value a feature reads as when nothing was computed for it."""
    if isinstance(feature, RatioFeature):
        return feature.default_value
    return feature.default


class EntityDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: tuple[str, ...] = Field(min_length=1, description="Event fields, in key order.")


class GroupDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    entity: Name
    max_age: str = DEFAULT_MAX_AGE
    features: tuple[FeatureDefinition, ...] = Field(min_length=1)

    @field_validator("max_age")
    @classmethod
    def _max_age_is_a_duration(cls, value: str) -> str:
        duration_ms(value)
        return value

    @property
    def max_age_ms(self) -> int:
        return duration_ms(self.max_age)


class DefinitionFile(BaseModel):
    """The whole file, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    entities: dict[Name, EntityDefinition] = Field(min_length=1)
    groups: tuple[GroupDefinition, ...] = Field(min_length=1)
