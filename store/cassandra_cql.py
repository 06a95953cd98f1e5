"""The CQL of the interactions table, per kind: its insert and its bounded recent read."""

from __future__ import annotations

from store.interactions import KIND_FIELDS

COMMON_COLUMNS = ("user_id", "kind", "bucket", "ts", "event_id", "product_id", "category_id")


def insert_cql(table: str, kind: str) -> str:
    columns = (*COMMON_COLUMNS, *KIND_FIELDS[kind])
    names, marks = ", ".join(columns), ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) USING TTL ?"  # noqa: S608 - identifiers


def select_cql(table: str, kind: str) -> str:
    """The kind's rows of the buckets named, newest first per bucket: a ``ColdRow`` then the
    bucket (``store.bucket_walk`` groups the rows by it)."""
    columns = (
        "event_id", "product_id", "category_id", "toUnixTimestamp(ts)", *KIND_FIELDS[kind], "bucket"
    )  # fmt: skip
    return (
        f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608 - identifiers, not user input
        " WHERE user_id = ? AND kind = ? AND bucket IN ? AND ts >= ? AND ts <= ?"
        " PER PARTITION LIMIT ?"
    )
