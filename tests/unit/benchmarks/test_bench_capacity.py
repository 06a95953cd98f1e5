"""`bench capacity`: keys grouped by shape and entity, whatever the key layout."""

from __future__ import annotations

from benchmarks.capacity.memory import Usage, entity_of, key_shape


def test_key_shapes_drop_ids_tags_and_partitions() -> None:
    assert key_shape("is:{user-0000001}:view:click", "is") == "{<user>}:view:click"
    assert key_shape("is:sessions:{p3}", "is") == "sessions:{}"
    assert key_shape("is:{a7}:user-0000001:session", "is") == "{}:<user>:session"
    assert (
        key_shape("isf:fv:product:{prod-0000042}:orders", "isf") == "fv:product:{<product>}:orders"
    )
    assert key_shape("isf:fx:7:{b2}", "isf") == "fx:<n>:{}"


def test_entities_come_from_the_ids_in_the_shape() -> None:
    assert entity_of("fv:user_category:{<user>}:<category>:g") == "user x category"
    assert entity_of("{<user>}:session") == "user"
    assert entity_of("fv:product:{<product>}:g") == "product"
    assert entity_of("sessions:{}") == "shared"


def test_bytes_per_id_counts_each_entity_once() -> None:
    usage = Usage()
    for key, size in (
        ("is:{user-0000001}:session", 100), ("is:{user-0000001}:view:click", 300),
        ("is:{user-0000002}:session", 100), ("is:sessions:{p0}", 50),
    ):  # fmt: skip
        usage.add(key, "is", size)
    by_entity = usage.by_entity()
    assert by_entity["user"] == {"ids": 2, "bytes": 500, "bytes_per_id": 250}
    assert by_entity["shared"]["bytes"] == 50
    assert usage.total == 550
