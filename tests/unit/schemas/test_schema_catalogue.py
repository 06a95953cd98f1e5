"""The shipped catalogue: layout, fingerprints per the Avro spec, and loading errors."""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path

import pytest
from fastavro.schema import to_parsing_canonical_form

from schemas import AVRO_DIR, CQL_DIR
from schemas.catalogue import Catalogue, default_catalogue, schema_fingerprint
from schemas.errors import CatalogueError, InvalidEvent, UnknownSchema

EMPTY_64 = 0xC15D213AA4D7A795


def crc64_avro(data: bytes) -> int:
    """The spec's reference fingerprint algorithm, written out to check fastavro against."""
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY_64 & -(fp & 1))
        table.append(fp)
    fp = EMPTY_64
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_fingerprint_matches_the_java_test_vector() -> None:
    # From the Avro Java test suite: fingerprint64("null") = 7195948357588979594 (signed long)
    assert schema_fingerprint("null") == struct.pack("<q", 7195948357588979594)


def test_every_fingerprint_is_crc64_of_the_canonical_form_little_endian() -> None:

    for sv in default_catalogue():
        canonical = to_parsing_canonical_form(sv.schema).encode()
        assert sv.fingerprint == crc64_avro(canonical).to_bytes(8, "little")


def test_shipped_kinds_share_the_event_envelope() -> None:
    catalogue = default_catalogue()
    assert catalogue.kinds == ("app_open", "click", "order", "wishlist")
    for sv in catalogue:
        assert sv.full_name.startswith("io.interstore.events.")
        fields = {f["name"]: f["type"] for f in sv.schema["fields"]}
        assert fields["event_id"] == fields["user_id"] == "string"
        assert fields["ts"] == {"type": "long", "logicalType": "timestamp-millis"}
        if sv.kind != "app_open":
            assert fields["product_id"] == fields["category_id"] == "string"


def test_interaction_fields_all_have_a_cassandra_column() -> None:
    cql = (CQL_DIR / "002_interactions.cql").read_text()
    columns = set(re.findall(r"^\s+(\w+)\s+\w+,$", cql, flags=re.MULTILINE))
    for kind in ("click", "order", "wishlist"):
        fields = {f["name"] for f in default_catalogue().reader(kind).schema["fields"]}
        assert fields <= columns, f"{kind}: {fields - columns} missing from the CQL table"


def test_unknown_fingerprint_and_kind_are_typed_errors() -> None:
    with pytest.raises(UnknownSchema, match="0102030405060708") as err:
        default_catalogue().writer(bytes(range(1, 9)))
    assert err.value.reason == "unknown_schema"
    with pytest.raises(InvalidEvent) as bad_kind:
        default_catalogue().reader("page_view")
    assert bad_kind.value.reason == "unknown_kind"


def test_from_dir_loads_versions_newest_last(tmp_path: Path) -> None:
    shutil.copytree(AVRO_DIR / "click", tmp_path / "click")
    v2 = (
        (tmp_path / "click" / "v1.avsc")
        .read_text()
        .replace(
            '"fields": [', '"fields": [{"name": "x", "type": ["null", "int"], "default": null},'
        )
    )
    (tmp_path / "click" / "v2.avsc").write_text(v2)
    (tmp_path / "click" / "README.md").write_text("ignored")
    catalogue = Catalogue.from_dir(tmp_path)
    assert [sv.version for sv in catalogue.versions("click")] == [1, 2]
    assert catalogue.reader("click").version == 2
    shipped = default_catalogue().reader("click")
    assert catalogue.version("click", 1).fingerprint == shipped.fingerprint


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no schema"),
        ({"click/1.avsc": "{}"}, "v<N>.avsc"),
        ({"Click/v1.avsc": "{}"}, "lower_snake_case"),
        ({"click/v1.avsc": "{not json"}, "v1.avsc"),
        ({"click/v1.avsc": '"string"'}, "must be an Avro record"),
        ({"click/v1.avsc": '{"type": "record", "name": "A", "fields": [{"name": "a"}]}'}, "v1"),
        (
            {
                "click/v1.avsc": '{"type": "record", "name": "A", "fields": []}',
                "click/v2.avsc": '{"type": "record", "name": "B", "fields": []}',
            },
            "changes its record name",
        ),
        (
            {
                "click/v1.avsc": '{"type": "record", "name": "A", "fields": []}',
                "order/v1.avsc": '{"type": "record", "name": "A", "fields": []}',
            },
            "same fingerprint",
        ),
    ],
)
def test_broken_catalogues_fail_loudly(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(CatalogueError, match=re.escape(message)):
        Catalogue.from_dir(tmp_path)


def test_missing_folder_and_missing_version(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="not a directory"):
        Catalogue.from_dir(tmp_path / "nowhere")
    with pytest.raises(CatalogueError, match="no version 9"):
        default_catalogue().version("click", 9)
