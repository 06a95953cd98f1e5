"""Schema evolution through a temporary catalogue: click v2 adds an optional field.

A codec pinned to v1 stands for a deployment built before v2 (it writes v1 and reads into v1);
an unpinned one is the new deployment. Both share the append-only catalogue folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from schemas import AVRO_DIR
from schemas.catalogue import Catalogue
from schemas.codec import Codec, DecodedEvent
from schemas.errors import CatalogueError, UnknownSchema
from tests.unit.schemas.events import SAMPLES, sample

REFERRER = {"name": "referrer", "type": ["null", "string"], "default": None}


@pytest.fixture
def catalogue_dir(tmp_path: Path) -> Path:
    """Today's catalogue plus a click v2 with one added optional field."""
    shutil.copytree(AVRO_DIR, tmp_path, dirs_exist_ok=True)
    v1 = json.loads((tmp_path / "click" / "v1.avsc").read_text())
    v2 = {**v1, "fields": [*v1["fields"], REFERRER]}
    (tmp_path / "click" / "v2.avsc").write_text(json.dumps(v2))
    return tmp_path


def test_v2_has_its_own_fingerprint_and_becomes_the_reader(catalogue_dir: Path) -> None:
    catalogue = Catalogue.from_dir(catalogue_dir)
    v1, v2 = catalogue.versions("click")
    assert v1.fingerprint != v2.fingerprint
    assert Codec(catalogue).reader("click") is v2
    assert Codec(catalogue, reader_versions={"click": 1}).reader("click") is v1


def test_old_writer_new_reader_fills_the_default(catalogue_dir: Path) -> None:
    catalogue = Catalogue.from_dir(catalogue_dir)
    old, new = Codec(catalogue, reader_versions={"click": 1}), Codec(catalogue)
    data = old.encode("click", SAMPLES["click"])
    assert data[2:10] == catalogue.version("click", 1).fingerprint
    assert new.decode(data) == DecodedEvent("click", sample("click", referrer=None), 1)


def test_new_writer_old_reader_drops_the_field(catalogue_dir: Path) -> None:
    catalogue = Catalogue.from_dir(catalogue_dir)
    old, new = Codec(catalogue, reader_versions={"click": 1}), Codec(catalogue)
    data = new.encode("click", sample("click", referrer="newsletter"))
    assert new.decode(data).record["referrer"] == "newsletter"
    assert old.decode(data) == DecodedEvent("click", SAMPLES["click"], 2)


def test_new_writer_may_leave_the_optional_field_out(catalogue_dir: Path) -> None:
    new = Codec(Catalogue.from_dir(catalogue_dir))
    decoded = new.decode(new.encode("click", SAMPLES["click"]))
    assert decoded == DecodedEvent("click", sample("click", referrer=None), 2)


def test_reader_whose_catalogue_lacks_v2_refuses_rather_than_guesses(catalogue_dir: Path) -> None:
    data = Codec(Catalogue.from_dir(catalogue_dir)).encode("click", SAMPLES["click"])
    with pytest.raises(UnknownSchema):
        Codec().decode(data)  # the shipped catalogue: v1 only


def test_other_kinds_are_untouched(catalogue_dir: Path) -> None:
    old = Codec(Catalogue.from_dir(catalogue_dir), reader_versions={"click": 1})
    assert Codec().decode(old.encode("order", SAMPLES["order"])).record == SAMPLES["order"]


def test_pinning_an_unknown_kind_or_version_is_a_catalogue_error(catalogue_dir: Path) -> None:
    catalogue = Catalogue.from_dir(catalogue_dir)
    with pytest.raises(CatalogueError, match="page_view"):
        Codec(catalogue, reader_versions={"page_view": 1})
    with pytest.raises(CatalogueError, match="no version 3"):
        Codec(catalogue, reader_versions={"click": 3})
