"""One definition of the kinds and their fields (``schemas.kinds``, from the Avro catalogue):
the CQL table, the stored interaction, the API's models and bounds agree with it."""

from __future__ import annotations

import dataclasses
import re
from typing import get_args

from api.models import MAX_ID_BYTES, MAX_LIMIT, InteractionOut, Kind
from schemas import CQL_DIR
from schemas.kinds import (
    EVENT_KINDS,
    INTERACTION_FIELDS,
    INTERACTION_KINDS,
    KIND_FIELDS,
    SESSION_KINDS,
)
from schemas.validation import MAX_ID_BYTES as EVENT_MAX_ID_BYTES
from store.cold import MAX_READ_LIMIT
from store.interactions import Interaction

CQL = (CQL_DIR / "002_interactions.cql").read_text()


def table_columns() -> set[str]:
    body = CQL[CQL.index("interactions (") : CQL.index("PRIMARY KEY")]
    return set(re.findall(r"^\s+(\w+)\s+\w+,$", body, flags=re.MULTILINE))


def all_kind_fields() -> set[str]:
    return {name for fields in KIND_FIELDS.values() for name in fields}


def test_the_kinds_come_from_the_avro_catalogue() -> None:
    assert EVENT_KINDS == ("app_open", "click", "order", "wishlist")
    assert INTERACTION_KINDS == ("click", "order", "wishlist")
    assert SESSION_KINDS == ("app_open",)
    assert KIND_FIELDS == {
        "click": ("surface", "position"),
        "order": ("order_id", "quantity", "price", "currency"),
        "wishlist": ("action",),
    }


def test_the_cql_table_has_a_column_for_every_field() -> None:
    common = {"user_id", "kind", "bucket", "ts", "event_id", *INTERACTION_FIELDS}
    assert table_columns() == common | all_kind_fields()


def test_the_stored_interaction_has_every_field() -> None:
    names = {field.name for field in dataclasses.fields(Interaction)}
    common = {"kind", "event_id", "user_id", "ts_ms", *INTERACTION_FIELDS}
    assert names == common | all_kind_fields()


def test_the_api_models_answer_the_same_kinds_and_fields() -> None:
    assert get_args(Kind) == INTERACTION_KINDS
    common = {"kind", "event_id", "ts", *INTERACTION_FIELDS}
    assert set(InteractionOut.model_fields) == common | all_kind_fields()


def test_the_api_bounds_sit_inside_the_stores_and_the_events() -> None:
    assert MAX_LIMIT <= MAX_READ_LIMIT
    assert MAX_ID_BYTES == EVENT_MAX_ID_BYTES
