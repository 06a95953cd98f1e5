"""The catalogue of every Avro event schema ever written, addressed by fingerprint.

Layout: ``<root>/<kind>/v<N>.avsc``, one folder per event kind, one file per version. Old
versions are never deleted: a message in Kafka (or a replayed topic) names its writer schema only
by the CRC-64-AVRO fingerprint of that schema's parsing canonical form, so the reader must still
know every writer it may meet. The newest version of a kind is the reader schema every decoded
event is resolved to, and the schema new events are written with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import orjson
from fastavro import parse_schema
from fastavro.schema import SchemaParseException, fingerprint, to_parsing_canonical_form

from schemas import AVRO_DIR
from schemas.errors import CatalogueError, InvalidEvent, UnknownSchema

FINGERPRINT_ALGORITHM = "CRC-64-AVRO"
_VERSION_FILE = re.compile(r"v([1-9][0-9]*)\.avsc")
_KIND_DIR = re.compile(r"[a-z][a-z0-9_]*")
# Logical types read back as plain Avro values: ts stays int milliseconds from wire to store.
_PLAIN_ON_DECODE = frozenset({"timestamp-millis", "decimal"})

Schema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One ``.avsc`` file, parsed twice: as written, and as the decoder reads it."""

    kind: str
    version: int
    fingerprint: bytes
    """CRC-64-AVRO of the parsing canonical form: the 8 bytes as on the wire (little-endian)."""
    schema: Schema
    """Parsed as written; the encoder uses it (timestamp-millis accepts int or datetime)."""
    decode_schema: Schema
    """Parsed with timestamp-millis stripped, so decoding yields int millis and no datetimes."""
    path: Path

    @property
    def full_name(self) -> str:
        """The record's namespaced name; every version of a kind must keep it."""
        return cast(str, self.schema["name"])


def schema_fingerprint(raw: str | list[Any] | dict[str, Any]) -> bytes:
    """CRC-64-AVRO fingerprint of a schema, as the 8 little-endian bytes of the wire header.

    fastavro returns the hex of exactly those bytes (matching the Java implementation).
    """
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(raw), FINGERPRINT_ALGORITHM))


def _plain_on_decode(node: Any) -> Any:
    """A deep copy of a raw schema without the logical types listed in ``_PLAIN_ON_DECODE``.

    The logical type never changes the bytes (nor the fingerprint), only the Python value
    fastavro builds; dropping it saves a datetime per event and a conversion back.
    """
    if isinstance(node, dict):
        return {
            key: _plain_on_decode(value)
            for key, value in node.items()
            if not (key == "logicalType" and value in _PLAIN_ON_DECODE)
        }
    if isinstance(node, list):
        return [_plain_on_decode(item) for item in node]
    return node


def load_version(path: Path, kind: str, version: int) -> SchemaVersion:
    """Read and parse one ``.avsc`` file; any problem is a ``CatalogueError`` naming the file."""
    try:
        raw = orjson.loads(path.read_bytes())
        if not isinstance(raw, dict) or raw.get("type") != "record":
            raise CatalogueError(f"{path}: an event schema must be an Avro record")
        schema = cast(Schema, parse_schema(raw))
        decode_schema = cast(Schema, parse_schema(_plain_on_decode(raw)))
        fp = schema_fingerprint(raw)
    except CatalogueError:
        raise
    except (OSError, ValueError, TypeError, KeyError, SchemaParseException) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    return SchemaVersion(kind, version, fp, schema, decode_schema, path)


class Catalogue:
    """Every schema version, by fingerprint (to find writers) and by kind (newest = reader)."""

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        by_kind: dict[str, list[SchemaVersion]] = {}
        for sv in versions:
            by_kind.setdefault(sv.kind, []).append(sv)
        if not by_kind:
            raise CatalogueError("the catalogue holds no schema at all")
        self._versions: dict[str, tuple[SchemaVersion, ...]] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for kind, found in sorted(by_kind.items()):
            ordered = tuple(sorted(found, key=lambda sv: sv.version))
            _check_kind(kind, ordered)
            self._versions[kind] = ordered
            for sv in ordered:
                self._add_fingerprint(sv)

    def _add_fingerprint(self, sv: SchemaVersion) -> None:
        # Versions differing only in docs, defaults or aliases share the wire layout and thus
        # the fingerprint; decoding is the same whichever one we pick, so the newest wins.
        known = self._by_fingerprint.get(sv.fingerprint)
        if known is not None and known.kind != sv.kind:
            raise CatalogueError(
                f"{sv.path} and {known.path} have the same fingerprint {sv.fingerprint.hex()}"
            )
        self._by_fingerprint[sv.fingerprint] = sv

    @classmethod
    def from_dir(cls, root: Path) -> Catalogue:
        """Load ``root/<kind>/v<N>.avsc``; files not ending in ``.avsc`` are ignored."""
        if not root.is_dir():
            raise CatalogueError(f"{root} is not a directory")
        versions = []
        for kind_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            if not _KIND_DIR.fullmatch(kind_dir.name):
                raise CatalogueError(f"{kind_dir}: kind folders are lower_snake_case")
            for path in sorted(kind_dir.glob("*.avsc")):
                match = _VERSION_FILE.fullmatch(path.name)
                if match is None:
                    raise CatalogueError(f"{path}: schema files are named v<N>.avsc")
                versions.append(load_version(path, kind_dir.name, int(match.group(1))))
        return cls(versions)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind with at least one schema, sorted."""
        return tuple(self._versions)

    def versions(self, kind: str) -> tuple[SchemaVersion, ...]:
        """All versions of a kind, oldest first."""
        self.reader(kind)
        return self._versions[kind]

    def reader(self, kind: str) -> SchemaVersion:
        """The newest version of a kind: what events are encoded with and decoded into."""
        found = self._versions.get(kind)
        if found is None:
            raise InvalidEvent("unknown_kind", f"unknown event kind {kind!r}; known: {self.kinds}")
        return found[-1]

    def version(self, kind: str, version: int) -> SchemaVersion:
        """One given version of a kind (to pin a reader, or to write as an old producer)."""
        for sv in self.versions(kind):
            if sv.version == version:
                return sv
        raise CatalogueError(f"kind {kind!r} has no version {version}")

    def writer(self, fp: bytes) -> SchemaVersion:
        """The schema a message was written with, from the fingerprint in its header."""
        found = self._by_fingerprint.get(fp)
        if found is None:
            raise UnknownSchema(fp)
        return found

    def __iter__(self) -> Iterator[SchemaVersion]:
        for versions in self._versions.values():
            yield from versions


def _check_kind(kind: str, ordered: tuple[SchemaVersion, ...]) -> None:
    """Versions of a kind are unique and keep one record name (else resolution fails)."""
    numbers = [sv.version for sv in ordered]
    if len(set(numbers)) != len(numbers):
        raise CatalogueError(f"kind {kind!r} has duplicate version numbers {numbers}")
    names = {sv.full_name for sv in ordered}
    if len(names) != 1:
        raise CatalogueError(f"kind {kind!r} changes its record name across versions: {names}")


@cache
def default_catalogue() -> Catalogue:
    """The catalogue shipped in this package, loaded once per process."""
    return Catalogue.from_dir(AVRO_DIR)
